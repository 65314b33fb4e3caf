package rules

import (
	"embed"
	"io/fs"
)

//go:embed pack/*.yaml
var pack embed.FS

// Pack returns the default rule pack shipped with the binary.
func Pack() fs.FS {
	sub, err := fs.Sub(pack, "pack")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// Default compiles the default rule pack.
func Default() (*Set, []error) {
	return LoadFS(Pack(), "pack")
}
