package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sanse-campus/sanse/engine"
)

// ColourCount is how many schools of a set had each colour at one moment.
type ColourCount struct {
	// At is the moment, as it was asked for.
	At time.Time
	// Red, Yellow and Green add up to the number of schools asked about.
	Red, Yellow, Green int
}

// maxIDBytes bounds the school ids of one query of ColourCountsAt. The ids are
// sent in the query's text, twice, and ClickHouse refuses a query longer than
// max_query_size (256 KiB by default); a longer list is counted in several
// queries, whose counts add up because each school is in one of them.
const maxIDBytes = 64 << 10

// ColourCountsAt counts, for each moment of at, how many of the schools
// schoolIDs names were red, yellow and green then: each school has the colour
// of its last change stored before the moment (At < moment, to the
// millisecond, ties by id — what LevelsAt gives), and a school with no change
// before it, or none at all, was green. The result has one count per moment,
// in the order of at; an id given twice counts once. It is the series behind
// the dashboard's colours per day (each moment the end of a day) and report
// charts.
//
// A list of up to some thousands of ids takes one query (a longer one a
// query per part of it). Its cost grows with the stored changes of those
// schools before the latest moment, which ClickHouse reduces to at most one
// per school and span between two moments before the counting. Repeated rows
// of a change not yet merged away do not change the counts.
func (s *Store) ColourCountsAt(ctx context.Context, schoolIDs []string, at []time.Time) ([]ColourCount, error) {
	schoolIDs = slices.Compact(slices.Sorted(slices.Values(schoolIDs)))
	out := make([]ColourCount, len(at))
	for i, t := range at {
		out[i] = ColourCount{At: t, Green: len(schoolIDs)}
	}
	if len(at) == 0 || len(schoolIDs) == 0 {
		return out, nil
	}
	// The moments in unix milliseconds, sorted and once each; index finds
	// the places in out of each.
	ends := make([]int64, 0, len(at))
	index := make(map[int64][]int, len(at))
	for i, t := range at {
		ms := t.UnixMilli()
		if index[ms] == nil {
			ends = append(ends, ms)
		}
		index[ms] = append(index[ms], i)
	}
	slices.Sort(ends)
	for start := 0; start < len(schoolIDs); {
		end, size := start, 0
		for end < len(schoolIDs) && (end == start || size+len(schoolIDs[end]) <= maxIDBytes) {
			size += len(schoolIDs[end]) + 4 // the quotes, comma and space around it
			end++
		}
		if err := s.colourCounts(ctx, schoolIDs[start:end], ends, index, out); err != nil {
			return nil, fmt.Errorf("count colours of %d schools at %d moments: %w", len(schoolIDs), len(at), err)
		}
		start = end
	}
	return out, nil
}

// colourCounts adds the red and yellow schools among ids at each moment of
// ends (unix milliseconds, sorted, each once) to out, at the places index
// gives, and takes them from the green ones.
//
// The inner query reduces each school's history to one colour per span
// between two moments: bucket b (1-based) holds the last change before
// ends[b-1] and not before ends[b-2], so that the oldest history is one row
// per school and a busy day one row too. ARRAY JOIN pairs each bucket with
// the moments from its own on, and argMax takes, for each school and
// moment, the colour of the latest bucket. The rows that reach ARRAY JOIN
// are at most (moments + 1) per school, whatever the number of changes. It
// uses only what ClickHouse 18.16 has.
func (s *Store) colourCounts(ctx context.Context, ids []string, ends []int64, index map[int64][]int, out []ColourCount) error {
	set := clickhouse.GroupSet{Value: make([]any, len(ids))}
	for i, id := range ids {
		set.Value[i] = id
	}
	first, last := ends[0], ends[len(ends)-1]
	firstSec, lastSec := clampSeconds(first/1000), clampSeconds(last/1000)
	rows, err := s.conn.Query(ctx, `
SELECT end_index, level, count() AS schools
FROM
(
    SELECT school_id, end_index, argMax(level, bucket) AS level
    FROM
    (
        SELECT school_id, arrayFirstIndex(e -> e > at_ms, CAST(? AS Array(Int64))) AS bucket,
            argMax(to_level, (at_ms, id)) AS level
        FROM level_changes
        WHERE school_id IN ? AND at >= toDateTime(?) AND at <= toDateTime(?) AND at_ms >= ? AND at_ms < ?
        GROUP BY school_id, bucket
        UNION ALL
        SELECT school_id, toUInt32(1) AS first_bucket, argMax(to_level, (at_ms, id)) AS last_to
        FROM level_changes
        WHERE school_id IN ? AND at <= toDateTime(?) AND at_ms < ?
        GROUP BY school_id
    )
    ARRAY JOIN range(toUInt32(?)) AS end_index
    WHERE end_index + 1 >= bucket
    GROUP BY school_id, end_index
)
WHERE level IN (?, ?)
GROUP BY end_index, level`,
		ends, set, firstSec, lastSec, first, last,
		set, firstSec, first,
		len(ends), string(engine.LevelRed), string(engine.LevelYellow))
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			i     uint32
			level string
			n     uint64
		)
		if err := rows.Scan(&i, &level, &n); err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if int(i) >= len(ends) {
			return fmt.Errorf("read: moment %d of %d", i, len(ends))
		}
		for _, j := range index[ends[i]] {
			c := &out[j]
			switch engine.Level(level) {
			case engine.LevelRed:
				c.Red += int(n)
			case engine.LevelYellow:
				c.Yellow += int(n)
			}
			c.Green -= int(n)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
}
