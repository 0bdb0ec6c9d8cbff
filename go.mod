module github.com/klpcheck/klpcheck

go 1.26.0

require (
	github.com/anishathalye/porcupine v1.3.1 // indirect
	golang.org/x/arch v0.32.0 // indirect
	pgregory.net/rapid v1.3.0 // indirect
)
