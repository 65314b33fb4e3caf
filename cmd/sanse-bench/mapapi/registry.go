//go:build ignore

// registry.go writes a registry of n invented schools of 嘉兴市 as CSV, the
// one TestBrowserMapScale generates (sim.GenerateRegistry with the same
// seed), for measuring the map API at scale (run.sh):
//
//	go run bench/mapapi/registry.go -n 20000 -seed 20251125 -o /tmp/registry-20000.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/sanse-campus/sanse/engine/sim"
)

func main() {
	n := flag.Int("n", 20000, "schools")
	seed := flag.Int64("seed", 20251125, "seed of the generator")
	out := flag.String("o", "", "file to write (standard output when empty)")
	flag.Parse()
	if err := write(*out, *seed, *n); err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func write(path string, seed int64, n int) error {
	f := os.Stdout
	if path != "" {
		var err error
		if f, err = os.Create(path); err != nil {
			return err
		}
		defer f.Close()
	}
	w := bufio.NewWriter(f)
	if err := sim.WriteRegistryCSV(w, sim.GenerateRegistry(seed, n)); err != nil {
		return err
	}
	return w.Flush()
}
