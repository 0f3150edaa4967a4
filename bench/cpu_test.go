package bench

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cpuMeter measures the CPU time a benchmark's timed part costs: this
// process's (server and load generator together, from getrusage) and, on
// PostgreSQL, that of the test database's server backends (from /proc).
// On a machine shared with other work, ops/s moves with the load more
// than the CPU spent per operation does, so this is the number to compare
// before and after a change. It also reports the whole machine's times
// (machineTicks): what else ran, and what the hypervisor took.
//
// With GATEHOUSE_BENCH_CPUPROFILE set to a directory, the meter also takes
// a CPU profile of the timed part alone (-test.cpuprofile would take the
// setup too, which for BenchmarkPasswordLogin is every flow's walk to the
// password step) and writes it there as <benchmark name>.prof.
type cpuMeter struct {
	db      *sql.DB // nil on SQLite
	self    time.Duration
	ticks   map[int]int64 // backend pid -> utime+stime at the start
	prof    *os.File      // the profile being taken, or nil
	machine machineTicks  // the whole machine's at the start
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times; 100 on every
// Linux platform Go supports.
const clockTicks = 100

func startCPU(db *sql.DB) *cpuMeter {
	m := &cpuMeter{db: db, ticks: map[int]int64{}}
	if dir := os.Getenv("GATEHOUSE_BENCH_CPUPROFILE"); dir != "" {
		if f, err := os.CreateTemp(dir, "cpu-*.prof"); err == nil && pprof.StartCPUProfile(f) == nil {
			m.prof = f
		}
	}
	m.self = selfCPU()
	m.machine = readMachineTicks()
	for _, pid := range m.backends() {
		m.ticks[pid] = procTicks(pid)
	}
	return m
}

// report adds cpu-µs/op (this process) and, on PostgreSQL, pg-cpu-µs/op
// and their sum to b's results.
func (m *cpuMeter) report(b *testing.B) {
	self := selfCPU() - m.self
	if m.prof != nil {
		pprof.StopCPUProfile()
		m.prof.Close()
		name := strings.NewReplacer("/", "_", " ", "_").Replace(b.Name())
		_ = os.Rename(m.prof.Name(), filepath.Join(filepath.Dir(m.prof.Name()), name+".prof"))
	}
	b.ReportMetric(float64(self.Microseconds())/float64(b.N), "cpu-µs/op")
	m.machine.reportSince(b)
	if m.db == nil {
		return
	}
	var ticks int64
	for _, pid := range m.backends() {
		ticks += procTicks(pid) - m.ticks[pid] // a backend started during the run counts from 0
	}
	pg := time.Duration(ticks) * time.Second / clockTicks
	b.ReportMetric(float64(pg.Microseconds())/float64(b.N), "pg-cpu-µs/op")
	b.ReportMetric(float64((self+pg).Microseconds())/float64(b.N), "total-cpu-µs/op")
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backends are the PostgreSQL server processes of the benchmark's own
// database (each test database is fresh, so other work on the server is
// not counted).
func (m *cpuMeter) backends() []int {
	if m.db == nil {
		return nil
	}
	rows, err := m.db.QueryContext(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			out = append(out, pid)
		}
	}
	return out
}

// procTicks is a process's user plus system time in clock ticks; 0 if it
// cannot be read (the server on another machine, or the process gone).
func procTicks(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces), counted from
	// state (field 3): utime is field 14, stime field 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(string(f[11]), 10, 64)
	s, _ := strconv.ParseInt(string(f[12]), 10, 64)
	return u + s
}

// startCPU starts a cpuMeter on e's server, counting the database's
// backends when it runs on PostgreSQL.
func (e *oauthEnv) startCPU(postgres bool) *cpuMeter {
	if !postgres {
		return startCPU(nil)
	}
	return startCPU(e.in.Server.OAuth.Store.DB())
}

// machineTicks are the whole machine's CPU times from /proc/stat's "cpu"
// line, in clock ticks: busy (user, nice, system, irq, softirq), idle,
// iowait and steal, and the context switches (ctxt). Beside the
// process's and the backends' own, they show the rest: PostgreSQL's
// auxiliary processes (WAL writer, autovacuum), the kernel's threads, and
// time the hypervisor gave to other machines while this one waited.
type machineTicks struct{ busy, idle, iowait, steal, ctxt int64 }

func readMachineTicks() machineTicks {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineTicks{}
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return machineTicks{}
	}
	var v [8]int64
	for i := range v {
		v[i], _ = strconv.ParseInt(string(f[i+1]), 10, 64)
	}
	t := machineTicks{busy: v[0] + v[1] + v[2] + v[5] + v[6], idle: v[3], iowait: v[4], steal: v[7]}
	for l := range bytes.Lines(b) {
		if f := bytes.Fields(l); len(f) == 2 && string(f[0]) == "ctxt" {
			t.ctxt, _ = strconv.ParseInt(string(f[1]), 10, 64)
		}
	}
	return t
}

// reportSince adds the machine's busy, idle and stolen CPU time and its
// context switches since t, per operation (machine-busy-µs/op,
// machine-idle-µs/op, machine-steal-µs/op, ctxt/op), to b's results.
func (t machineTicks) reportSince(b *testing.B) {
	now := readMachineTicks()
	per := func(ticks int64) float64 {
		return float64((time.Duration(ticks) * time.Second / clockTicks).Microseconds()) / float64(b.N)
	}
	b.ReportMetric(per(now.busy-t.busy), "machine-busy-µs/op")
	b.ReportMetric(per(now.idle+now.iowait-t.idle-t.iowait), "machine-idle-µs/op")
	b.ReportMetric(per(now.steal-t.steal), "machine-steal-µs/op")
	b.ReportMetric(float64(now.ctxt-t.ctxt)/float64(b.N), "ctxt/op")
}
