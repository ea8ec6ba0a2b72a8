package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/tandem-cobrowse/tandem/auditlog"
)

// runAudit runs `tandem audit verify FILE|-` and returns the exit status: 0 when the
// chain holds, 1 when it is broken (naming the first line that does not follow), 2 for a
// wrong command line.
func runAudit(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: tandem audit verify FILE   (- reads standard input)")
		return 2
	}
	r := stdin
	if args[1] != "-" {
		f, err := os.Open(args[1])
		if err != nil {
			fmt.Fprintln(stderr, "tandem:", err)
			return 1
		}
		defer f.Close()
		r = f
	}
	rep, err := auditlog.Verify(r)
	switch {
	case errors.Is(err, auditlog.ErrBroken):
		fmt.Fprintln(stdout, "BROKEN:", err)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "tandem:", err)
		return 1
	}
	fmt.Fprintf(stdout, "OK: %d lines, chain intact; newest line %d has hash %s\n", rep.Lines, rep.Head.Seq, rep.Head.Hash)
	return 0
}
