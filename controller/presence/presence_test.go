package presence

import (
	"context"
	"testing"
)

func TestMemoryCountsTabs(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	steps := []struct {
		join    bool
		op, s   string
		want    int
		wantOps int
	}{
		{true, "a", "s1", 1, 1},
		{true, "a", "s2", 2, 1},
		{true, "b", "s3", 1, 2},
		{true, "a", "s2", 2, 2}, // same session twice is one tab
		{false, "a", "s1", 1, 2},
		{false, "a", "s2", 0, 1},
		{false, "a", "s2", 0, 1}, // leaving twice is harmless
		{false, "b", "s3", 0, 0},
	}
	for i, st := range steps {
		var n int
		var err error
		if st.join {
			n, err = m.Join(ctx, st.op, "Name "+st.op, st.s)
		} else {
			n, err = m.Leave(ctx, st.op, st.s)
		}
		if err != nil || n != st.want {
			t.Fatalf("step %d: sessions = %d, %v; want %d", i, n, err, st.want)
		}
		online, _ := m.Online(ctx)
		if len(online) != st.wantOps {
			t.Fatalf("step %d: online = %v; want %d operators", i, online, st.wantOps)
		}
	}
	if _, ok, _ := m.Get(ctx, "a"); ok {
		t.Fatal("a should be offline")
	}
}
