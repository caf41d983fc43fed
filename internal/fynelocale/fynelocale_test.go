package fynelocale

import (
	"maps"
	"testing"
)

func TestRewrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want map[string]string // the environment while Fyne's init runs
	}{
		{"unset", map[string]string{}, map[string]string{}},
		{"C", map[string]string{"LANG": "C"}, map[string]string{"LANG": "C"}},
		{"POSIX", map[string]string{"LANG": "POSIX"}, map[string]string{"LANG": "POSIX"}},
		{"C.UTF-8", map[string]string{"LANG": "C.UTF-8"}, map[string]string{"LANG": "C"}},
		{"C.utf8", map[string]string{"LANG": "C.utf8"}, map[string]string{"LANG": "C"}},
		{"POSIX.UTF-8", map[string]string{"LANG": "POSIX.UTF-8"}, map[string]string{"LANG": "C"}},
		{"C.UTF-8 ignores LANGUAGE", map[string]string{"LANG": "C.UTF-8", "LANGUAGE": "de:C.UTF-8"},
			map[string]string{"LANG": "C", "LANGUAGE": "de:C.UTF-8"}},
		{"a good locale untouched", map[string]string{"LANG": "de_DE.UTF-8"}, map[string]string{"LANG": "de_DE.UTF-8"}},
		{"modifier", map[string]string{"LANG": "de_DE@euro"}, map[string]string{"LANG": "de_DE"}},
		{"modifier after codeset is go-locale's to drop", map[string]string{"LANG": "ca_ES.UTF-8@valencia"},
			map[string]string{"LANG": "ca_ES.UTF-8@valencia"}},
		{"LC_ALL wins over LANG", map[string]string{"LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
			map[string]string{"LC_ALL": "C", "LANG": "C.UTF-8"}},
		{"LC_MESSAGES before LANG", map[string]string{"LC_MESSAGES": "C.UTF-8", "LANG": "en_US.UTF-8"},
			map[string]string{"LC_MESSAGES": "C", "LANG": "en_US.UTF-8"}},
		{"LANGUAGE entries", map[string]string{"LANG": "en_US.UTF-8", "LANGUAGE": "sr_RS@latin:C.UTF-8:en"},
			map[string]string{"LANG": "en_US.UTF-8", "LANGUAGE": "sr_RS:en"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := maps.Clone(tc.env)
			got := rewrite(func(k string) (string, bool) { v, ok := env[k]; return v, ok },
				func(k, v string) error { env[k] = v; return nil })
			if !maps.Equal(env, tc.want) {
				t.Errorf("during init: %v, want %v", env, tc.want)
			}
			for _, o := range got {
				env[o.name] = o.value
			}
			if !maps.Equal(env, tc.env) {
				t.Errorf("after restore: %v, want the original %v", env, tc.env)
			}
		})
	}
}
