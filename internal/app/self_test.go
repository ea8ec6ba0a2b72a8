package app

import (
	"net"
	"strconv"
	"testing"
)

func TestIsSelfKnowsTheServersOwnListener(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "0.0.0.0:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		s := &Server{ln: ln}
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		for target, want := range map[string]bool{
			"127.0.0.1:" + port: true, "localhost:" + port: true,
			"127.0.0.1:1": false, "10.1.2.3:" + port: false, "example.com:" + port: false, "garbage": false,
		} {
			if got := s.isSelf(target); got != want {
				t.Errorf("listening on %s: isSelf(%q) = %v, want %v", ln.Addr(), target, got, want)
			}
		}
	}
}
