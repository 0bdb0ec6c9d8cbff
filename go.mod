module github.com/klpcheck/klpcheck

go 1.26.0

require (
	github.com/anishathalye/porcupine v1.3.1
	golang.org/x/arch v0.32.0
	pgregory.net/rapid v1.3.0
)
