package importer

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// csvRow is one record of a vendor CSV export, read by column name.
type csvRow struct {
	src  string
	cols map[string]int
	rec  []string
}

func (r csvRow) get(name string) string {
	if i, ok := r.cols[name]; ok && i < len(r.rec) {
		return strings.TrimSpace(r.rec[i])
	}
	return ""
}

func (r csvRow) has(name string) bool { _, ok := r.cols[name]; return ok }

// eachCSVRow reads a CSV file with a header row (column names matched
// case-sensitively, a byte-order mark dropped) and calls fn for each
// record; a record that does not parse becomes a rejection. required
// names columns the header must have.
func eachCSVRow(d *Dataset, path string, required []string, fn func(r csvRow)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: reading the header: %w", path, err)
	}
	cols := map[string]int{}
	for i, h := range header {
		cols[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, c := range required {
		if _, ok := cols[c]; !ok {
			return fmt.Errorf("%s: the header has no %s column; is this the right --from format?", path, c)
		}
	}
	name := filepath.Base(path)
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		line, _ := cr.FieldPos(0)
		src := fmt.Sprintf("%s:%d", name, line)
		if err != nil {
			d.Rejected = append(d.Rejected, Rejection{Kind: "line", Source: src, Field: "line", Rule: "csv", Reason: err.Error()})
			continue
		}
		fn(csvRow{src: src, cols: cols, rec: rec})
	}
}
