package identity

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

func TestClaims(t *testing.T) {
	src := map[string]any{"sub": "alice", "exp": float64(1700000000), "amr": []any{"pwd"}, "address": map[string]any{"country": "NL"}}
	c := NewClaims(src)
	src["sub"] = "mallory"
	src["amr"].([]any)[0] = "none"
	if c.StringClaim("sub") != "alice" || fmt.Sprint(c.Map()["amr"]) != "[pwd]" {
		t.Fatalf("NewClaims kept a reference to its argument: %v", c.Map())
	}
	if c.StringClaim("exp") != "" || c.StringClaim("missing") != "" {
		t.Error("StringClaim of a number or an absent claim is not empty")
	}
	if v, ok := c.Lookup("exp"); !ok || v != float64(1700000000) {
		t.Errorf("Lookup(exp) = %v, %v", v, ok)
	}
	if _, ok := c.Lookup("missing"); ok {
		t.Error("Lookup of an absent claim reports it present")
	}
	if names := c.Names(); c.Len() != 4 || len(names) != 4 || !slices.Contains(names, "address") {
		t.Errorf("Len %d, Names %v", c.Len(), names)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Claims
	if err := json.Unmarshal(b, &back); err != nil || fmt.Sprint(back.Map()) != fmt.Sprint(c.Map()) {
		t.Fatalf("JSON round trip: %s -> %v, %v", b, back.Map(), err)
	}
	var zero Claims
	if b, _ := json.Marshal(zero); string(b) != "null" || zero.Map() != nil || zero.Len() != 0 || zero.StringClaim("sub") != "" {
		t.Errorf("zero Claims: JSON %s, Map %v", b, zero.Map())
	}
	if NewClaims(nil).Map() != nil {
		t.Error("NewClaims(nil) has claims")
	}
}
