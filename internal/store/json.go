package store

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Metadata maps and lists are stored as JSON text so one column type serves
// both databases.

func encodeJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("store: cannot encode " + err.Error()) // only maps and slices of strings reach here
	}
	return string(b)
}

func decodeMap(s string) map[string]string {
	m := map[string]string{}
	if s != "" {
		_ = json.Unmarshal([]byte(s), &m)
	}
	return m
}

func decodeList(s string) []string {
	var l []string
	if s != "" {
		_ = json.Unmarshal([]byte(s), &l)
	}
	return l
}

// placeholders returns "$from, $from+1, ..." for n arguments.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// likePattern makes a case-insensitive substring pattern for LIKE ... ESCAPE '\'.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(q)) + "%"
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func itoa(i int) string { return strconv.Itoa(i) }

// prefixCols qualifies a comma-separated column list after its first column
// (the caller writes the first prefix itself).
func prefixCols(cols, prefix string) string {
	parts := strings.Split(cols, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
		if i > 0 {
			parts[i] = prefix + parts[i]
		}
	}
	return strings.Join(parts, ", ")
}
