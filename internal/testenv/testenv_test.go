package testenv

import "testing"

func TestUnderCIParsesABoolean(t *testing.T) {
	for v, want := range map[string]bool{
		"true": true, "TRUE": true, "1": true, "yes": true, "on": true, " true ": true,
		"": false, "false": false, "0": false, "no": false, "maybe": false,
	} {
		t.Setenv("CI", v)
		if got := UnderCI(); got != want {
			t.Errorf("CI=%q: UnderCI() = %v, want %v", v, got, want)
		}
	}
}
