package argon2

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestAdviseHuge: a fresh buffer's 2 MiB-aligned part is marked for
// transparent huge pages (VmFlags "hg" in /proc/self/smaps), whatever the
// kernel then does with the advice, and its unaligned head is not (it
// may share pages with other objects). Derivations over advised pooled
// buffers are TestReusedBuffersMatchUpstream's.
func TestAdviseHuge(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages are off on this kernel (%q, %v): the advice is ignored", strings.TrimSpace(string(mode)), err)
	}
	buf := make([]block, 6<<10) // 6 MiB: at least 4 MiB of it aligned
	adviseHuge(buf)
	start := uintptr(unsafe.Pointer(&buf[0]))
	aligned := (start + hugePage - 1) &^ (hugePage - 1)
	if flags := vmFlags(t, aligned); !strings.Contains(" "+flags+" ", " hg ") {
		t.Fatalf("the mapping at %#x has VmFlags %q, want hg", aligned, flags)
	}
	before := vmFlags(t, start)
	if aligned != start && strings.Contains(" "+before+" ", " hg ") {
		t.Errorf("the unaligned head at %#x was advised too: %q", start, before)
	}
}

// vmFlags are the VmFlags of the mapping of /proc/self/smaps holding addr.
func vmFlags(t *testing.T, addr uintptr) string {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 0:
		case f[0] == "VmFlags:":
			if in {
				return strings.Join(f[1:], " ")
			}
		case !strings.HasSuffix(f[0], ":"): // a mapping's first line: "lo-hi perms ..."
			lo, hi, _ := strings.Cut(f[0], "-")
			a, errA := strconv.ParseUint(lo, 16, 64)
			b, errB := strconv.ParseUint(hi, 16, 64)
			in = errA == nil && errB == nil && uint64(addr) >= a && uint64(addr) < b
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return ""
}

// BenchmarkHugePages: derivations at Gatehouse's parameters (19 MiB,
// t=2) over a buffer with 4 KiB pages and over one advised for huge
// pages, alternating in the same process (each op is one of each), so
// the machine's drift falls on both. Reports each side's time per
// derivation and speedup = 4 KiB time ÷ huge time. docs/benchmarks.md.
func BenchmarkHugePages(b *testing.B) {
	const memory = 19 << 10
	plain, huge := make([]block, memory), make([]block, memory)
	adviseHuge(huge)
	for _, buf := range [][]block{plain, huge} {
		for i := range buf {
			buf[i][0] = 1 // fault every page in now, as a pooled buffer has
		}
	}
	var took [2]time.Duration
	for b.Loop() {
		for i, buf := range [][]block{plain, huge} {
			blocks.Put(&buf) // getBlocks takes it back (this P's private slot)
			start := time.Now()
			IDKey([]byte("password"), []byte("saltsalt"), 2, memory, 1, 32)
			took[i] += time.Since(start)
			if got := blocks.Get().(*[]block); &(*got)[0] != &buf[0] {
				b.Fatal("the derivation did not run over the buffer under test")
			}
		}
	}
	b.ReportMetric(float64(took[0].Nanoseconds())/float64(b.N), "4k-ns/derivation")
	b.ReportMetric(float64(took[1].Nanoseconds())/float64(b.N), "huge-ns/derivation")
	b.ReportMetric(float64(took[0])/float64(took[1]), "speedup")
}
