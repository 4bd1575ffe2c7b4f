package audio

import (
	"strings"
	"testing"
	"time"
)

func TestTrace(t *testing.T) {
	EnableTrace(true)
	defer EnableTrace(false)
	for i := range 100 {
		Trace(StageJitter, time.Duration(i+1)*time.Millisecond) // 1..100 ms
	}
	t0 := time.Unix(100, 0)
	for seq := range uint32(10) {
		TraceMark(StageEncode, "m", seq, t0)
		TraceMark(StageSend, "m", seq, t0.Add(2*time.Millisecond))
		TraceMark(StageServer, "m", seq, t0.Add(5*time.Millisecond))
	}
	TraceMark(StageServer, "other", 0, t0) // no earlier mark: nothing recorded
	got := map[Stage]StageStats{}
	for _, s := range TraceReport() {
		got[s.Stage] = s
	}
	tests := []struct {
		stage    Stage
		n        int
		p50, p95 time.Duration
	}{
		{StageJitter, 100, 51 * time.Millisecond, 96 * time.Millisecond},
		{StageSend, 10, 2 * time.Millisecond, 2 * time.Millisecond},
		{StageServer, 10, 3 * time.Millisecond, 3 * time.Millisecond},
	}
	for _, tc := range tests {
		s := got[tc.stage]
		if s.N != tc.n || s.P50 != tc.p50 || s.P95 != tc.p95 {
			t.Errorf("%v: n=%d p50=%v p95=%v; want n=%d p50=%v p95=%v", tc.stage, s.N, s.P50, s.P95, tc.n, tc.p50, tc.p95)
		}
	}
	if _, ok := got[StageEncode]; ok {
		t.Errorf("encode has durations from marks alone: %+v", got[StageEncode])
	}
	out := FormatTrace(TraceReport())
	if !strings.Contains(out, "trace: stage=jitter n=100 p50=51.00ms p95=96.00ms") || !strings.Contains(out, "stage=total") {
		t.Errorf("FormatTrace:\n%s", out)
	}
	EnableTrace(false)
	Trace(StageJitter, time.Second)
	if len(TraceReport()) != 0 {
		t.Errorf("trace off still collects: %+v", TraceReport())
	}
}
