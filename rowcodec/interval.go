package rowcodec

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// IntervalStyle values, as the IntervalStyle setting spells them.
const (
	IntervalPostgres        = "postgres"
	IntervalPostgresVerbose = "postgres_verbose"
	IntervalSQLStandard     = "sql_standard"
	IntervalISO8601         = "iso_8601"
)

type intervalStyle uint8

const (
	intervalPostgres intervalStyle = iota
	intervalPostgresVerbose
	intervalSQLStandard
	intervalISO8601
)

// parseIntervalStyle maps a setting value ("" is postgres) to its style.
func parseIntervalStyle(s string) (intervalStyle, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", IntervalPostgres:
		return intervalPostgres, nil
	case IntervalPostgresVerbose:
		return intervalPostgresVerbose, nil
	case IntervalSQLStandard:
		return intervalSQLStandard, nil
	case IntervalISO8601:
		return intervalISO8601, nil
	}
	return 0, fmt.Errorf("rowcodec: unknown IntervalStyle %q (want postgres, postgres_verbose, sql_standard or iso_8601)", s)
}

// itm is struct pg_itm: an interval broken into fields by interval2itm
// (src/backend/utils/adt/timestamp.c), every field carrying the sign of
// its part (months, days, microseconds are independent in PostgreSQL).
type itm struct {
	year, mon, mday, hour, min, sec, usec int64
}

// appendInterval decodes interval_send: int64 microseconds, int32 days,
// int32 months. It prints interval_out's text (EncodeInterval in
// src/backend/utils/adt/datetime.c, PostgreSQL 15) in the given style as a
// string.
func appendInterval(dst, src []byte, style intervalStyle) ([]byte, error) {
	if len(src) != 16 {
		return dst, errLength
	}
	t := int64(binary.BigEndian.Uint64(src))
	days := int64(int32(binary.BigEndian.Uint32(src[8:])))
	months := int64(int32(binary.BigEndian.Uint32(src[12:])))
	var f itm
	f.year, f.mon, f.mday = months/12, months%12, days
	f.hour = t / usecsPerHour
	t -= f.hour * usecsPerHour
	f.min = t / usecsPerMinute
	t -= f.min * usecsPerMinute
	f.sec = t / usecsPerSec
	f.usec = t - f.sec*usecsPerSec
	dst = append(dst, '"')
	switch style {
	case intervalISO8601:
		dst = appendIntervalISO(dst, f)
	case intervalSQLStandard:
		dst = appendIntervalSQL(dst, f)
	case intervalPostgresVerbose:
		dst = appendIntervalVerbose(dst, f)
	default:
		dst = appendIntervalPostgres(dst, f)
	}
	return append(dst, '"'), nil
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// appendIntervalPostgres is the postgres style: "1 year 2 mons 3 days
// 04:05:06.5", each nonzero date part with its unit, a "+" on a positive
// part that follows a negative one, and the time when nonzero or alone.
func appendIntervalPostgres(dst []byte, f itm) []byte {
	isZero, isNegative := true, false
	part := func(v int64, unit string) {
		if v == 0 {
			return
		}
		if !isZero {
			dst = append(dst, ' ')
		}
		if isNegative && v > 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, v, 10)
		dst = append(dst, ' ')
		dst = append(dst, unit...)
		if v != 1 {
			dst = append(dst, 's')
		}
		isNegative = v < 0
		isZero = false
	}
	part(f.year, "year")
	part(f.mon, "mon")
	part(f.mday, "day")
	if isZero || f.hour != 0 || f.min != 0 || f.sec != 0 || f.usec != 0 {
		minus := f.hour < 0 || f.min < 0 || f.sec < 0 || f.usec < 0
		if !isZero {
			dst = append(dst, ' ')
		}
		if minus {
			dst = append(dst, '-')
		} else if isNegative {
			dst = append(dst, '+')
		}
		dst = appendHours(dst, abs64(f.hour))
		dst = append(dst, ':')
		dst = append2(dst, int(abs64(f.min)))
		dst = append(dst, ':')
		dst = appendSeconds(dst, f.sec, f.usec, true)
	}
	return dst
}

// appendHours prints an hour count with at least two digits.
func appendHours(dst []byte, h int64) []byte {
	if h < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, h, 10)
}

// appendIntervalVerbose is the postgres_verbose style: "@ 1 year 2 mons
// -3 days 4 hours 5 mins 6.5 secs ago".
func appendIntervalVerbose(dst []byte, f itm) []byte {
	dst = append(dst, '@')
	isZero, isNegative := true, false
	part := func(v int64, unit string) {
		if v == 0 {
			return
		}
		if isZero {
			isNegative = v < 0
			v = abs64(v)
		} else if isNegative {
			v = -v
		}
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, v, 10)
		dst = append(dst, ' ')
		dst = append(dst, unit...)
		if v != 1 {
			dst = append(dst, 's')
		}
		isZero = false
	}
	part(f.year, "year")
	part(f.mon, "mon")
	part(f.mday, "day")
	part(f.hour, "hour")
	part(f.min, "min")
	if f.sec != 0 || f.usec != 0 {
		dst = append(dst, ' ')
		// Like the other parts, the sign is relative to the first one
		// (whose sign is the trailing "ago").
		if f.sec < 0 || f.sec == 0 && f.usec < 0 {
			if isZero {
				isNegative = true
			} else if !isNegative {
				dst = append(dst, '-')
			}
		} else if isNegative {
			dst = append(dst, '-')
		}
		dst = appendSeconds(dst, f.sec, f.usec, false)
		dst = append(dst, " sec"...)
		if abs64(f.sec) != 1 || f.usec != 0 {
			dst = append(dst, 's')
		}
		isZero = false
	}
	if isZero {
		dst = append(dst, " 0"...)
	}
	if isNegative {
		dst = append(dst, " ago"...)
	}
	return dst
}

// appendIntervalSQL is the sql_standard style: "1-2" for year-month,
// "3 4:05:06" for day-time, one leading sign when all parts agree, and
// every sign spelled out ("+1-2 -3 +4:05:06") when they do not.
func appendIntervalSQL(dst []byte, f itm) []byte {
	hasNegative := f.year < 0 || f.mon < 0 || f.mday < 0 || f.hour < 0 || f.min < 0 || f.sec < 0 || f.usec < 0
	hasPositive := f.year > 0 || f.mon > 0 || f.mday > 0 || f.hour > 0 || f.min > 0 || f.sec > 0 || f.usec > 0
	hasYearMonth := f.year != 0 || f.mon != 0
	hasDayTime := f.mday != 0 || f.hour != 0 || f.min != 0 || f.sec != 0 || f.usec != 0
	standard := !(hasNegative && hasPositive) && !(hasYearMonth && hasDayTime)
	if hasNegative && standard {
		dst = append(dst, '-')
		f = itm{-f.year, -f.mon, -f.mday, -f.hour, -f.min, -f.sec, -f.usec}
	}
	clock := func(dst []byte) []byte {
		dst = strconv.AppendInt(dst, abs64(f.hour), 10)
		dst = append(dst, ':')
		dst = append2(dst, int(abs64(f.min)))
		dst = append(dst, ':')
		return appendSeconds(dst, f.sec, f.usec, true)
	}
	switch {
	case !hasNegative && !hasPositive:
		return append(dst, '0')
	case !standard:
		sign := func(neg bool) byte {
			if neg {
				return '-'
			}
			return '+'
		}
		dst = append(dst, sign(f.year < 0 || f.mon < 0))
		dst = strconv.AppendInt(dst, abs64(f.year), 10)
		dst = append(dst, '-')
		dst = strconv.AppendInt(dst, abs64(f.mon), 10)
		dst = append(dst, ' ', sign(f.mday < 0))
		dst = strconv.AppendInt(dst, abs64(f.mday), 10)
		dst = append(dst, ' ', sign(f.hour < 0 || f.min < 0 || f.sec < 0 || f.usec < 0))
		return clock(dst)
	case hasYearMonth:
		dst = strconv.AppendInt(dst, f.year, 10)
		dst = append(dst, '-')
		return strconv.AppendInt(dst, f.mon, 10)
	case f.mday != 0:
		dst = strconv.AppendInt(dst, f.mday, 10)
		dst = append(dst, ' ')
		return clock(dst)
	}
	return clock(dst)
}

// appendIntervalISO is the iso_8601 style: "P1Y2M3DT4H5M6.5S", "PT0S" for
// zero, each part with its own sign.
func appendIntervalISO(dst []byte, f itm) []byte {
	if f == (itm{}) {
		return append(dst, "PT0S"...)
	}
	dst = append(dst, 'P')
	part := func(v int64, unit byte) {
		if v != 0 {
			dst = strconv.AppendInt(dst, v, 10)
			dst = append(dst, unit)
		}
	}
	part(f.year, 'Y')
	part(f.mon, 'M')
	part(f.mday, 'D')
	if f.hour != 0 || f.min != 0 || f.sec != 0 || f.usec != 0 {
		dst = append(dst, 'T')
	}
	part(f.hour, 'H')
	part(f.min, 'M')
	if f.sec != 0 || f.usec != 0 {
		if f.sec < 0 || f.usec < 0 {
			dst = append(dst, '-')
		}
		dst = appendSeconds(dst, f.sec, f.usec, false)
		dst = append(dst, 'S')
	}
	return dst
}
