package migrate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	tests := []struct {
		name         string
		give         []Finding
		wantExit     int
		wantFirst    Severity
		wantInTable  []string
		wantBlockers int
	}{
		{
			name: "blocker wins",
			give: []Finding{
				{Severity: Info, Object: "daemon cgroup driver", What: "cgroupfs"},
				{Severity: Blocker, Object: "pod a/b container c (1)", What: "sets DOCKER_HOST", CarryOver: "stop"},
				{Severity: Warning, Object: "daemon registry-mirrors", What: "m", CarryOver: "write x:\nserver = \"y\"\n"},
			},
			wantExit: 1, wantFirst: Blocker, wantBlockers: 1,
			wantInTable: []string{"SEVERITY", "sets DOCKER_HOST", "write x: (see [1] below)", "[1] daemon registry-mirrors: write x:\nserver = \"y\"\n", "1 blocker(s), 1 warning(s), 3 finding(s)"},
		},
		{
			name:     "warnings only",
			give:     []Finding{{Severity: Warning, Object: "o", What: "w"}},
			wantExit: 0, wantFirst: Warning,
			wantInTable: []string{"0 blocker(s), 1 warning(s)"},
		},
		{name: "nothing", wantExit: 0, wantInTable: []string{"0 blocker(s), 0 warning(s), 0 finding(s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReport(tt.give)
			if got := r.ExitCode(); got != tt.wantExit {
				t.Errorf("exit code %d, want %d", got, tt.wantExit)
			}
			if len(r.Findings) > 0 && r.Findings[0].Severity != tt.wantFirst {
				t.Errorf("first finding %s, want %s", r.Findings[0].Severity, tt.wantFirst)
			}
			var table bytes.Buffer
			if err := r.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.wantInTable {
				if !strings.Contains(table.String(), want) {
					t.Errorf("table lacks %q:\n%s", want, table.String())
				}
			}
			var js bytes.Buffer
			if err := r.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if back.Blockers != tt.wantBlockers || len(back.Findings) != len(tt.give) || back.Findings == nil {
				t.Errorf("JSON round trip: %+v", back)
			}
		})
	}
}
