package rowcodec

import "strconv"

// Address families of inet_send (src/include/utils/inet.h).
const (
	pgAFInet  = 2 // PGSQL_AF_INET
	pgAFInet6 = 3 // PGSQL_AF_INET6
)

// appendInet decodes inet_send and cidr_send (src/backend/utils/adt/
// network.c): family, mask bits, is_cidr flag, address length, address
// bytes. It prints network_out's text as a string: pg_inet_net_ntop
// (src/port/inet_net_ntop.c), then, for cidr, "/bits" when not already
// there. The type (cidr or not) comes from the column, as in PostgreSQL.
func appendInet(dst, src []byte, cidr bool) ([]byte, error) {
	if len(src) < 4 {
		return dst, errShort
	}
	family, bits, n := src[0], int(src[1]), int(src[3])
	addr := src[4:]
	if len(addr) != n {
		return dst, errLength
	}
	dst = append(dst, '"')
	switch {
	case family == pgAFInet && n == 4 && bits <= 32:
		for i, b := range addr {
			if i > 0 {
				dst = append(dst, '.')
			}
			dst = strconv.AppendUint(dst, uint64(b), 10)
		}
		if bits != 32 || cidr {
			dst = append(dst, '/')
			dst = strconv.AppendUint(dst, uint64(bits), 10)
		}
	case family == pgAFInet6 && n == 16 && bits <= 128:
		dst = appendIPv6(dst, addr)
		if bits != 128 || cidr {
			dst = append(dst, '/')
			dst = strconv.AppendUint(dst, uint64(bits), 10)
		}
	default:
		return dst, errInet
	}
	return append(dst, '"'), nil
}

// appendIPv6 prints 16 address bytes as inet_net_ntop_ipv6 does: lower-case
// hex words without leading zeros, the longest run (first on ties, at
// least two words) of zero words as "::", and the last four bytes in dotted
// decimal for ::a.b.c.d and ::ffff:a.b.c.d.
func appendIPv6(dst, a []byte) []byte {
	var words [8]uint16
	for i := range words {
		words[i] = uint16(a[2*i])<<8 | uint16(a[2*i+1])
	}
	bestBase, bestLen, curBase, curLen := -1, 0, -1, 0
	for i, w := range words {
		if w == 0 {
			if curBase == -1 {
				curBase, curLen = i, 1
			} else {
				curLen++
			}
		} else if curBase != -1 {
			if bestBase == -1 || curLen > bestLen {
				bestBase, bestLen = curBase, curLen
			}
			curBase = -1
		}
	}
	if curBase != -1 && (bestBase == -1 || curLen > bestLen) {
		bestBase, bestLen = curBase, curLen
	}
	if bestBase != -1 && bestLen < 2 {
		bestBase = -1
	}
	for i := 0; i < 8; i++ {
		if bestBase != -1 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				dst = append(dst, ':')
			}
			continue
		}
		if i != 0 {
			dst = append(dst, ':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || bestLen == 7 && words[7] != 1 || bestLen == 5 && words[5] == 0xffff) {
			for j, b := range a[12:] {
				if j > 0 {
					dst = append(dst, '.')
				}
				dst = strconv.AppendUint(dst, uint64(b), 10)
			}
			break
		}
		dst = strconv.AppendUint(dst, uint64(words[i]), 16)
	}
	if bestBase != -1 && bestBase+bestLen == 8 {
		dst = append(dst, ':')
	}
	return dst
}

// appendMacaddr decodes macaddr_send (6 bytes) and macaddr8_send (8 bytes)
// and prints macaddr_out's colon-separated lower-case hex as a string.
func appendMacaddr(dst, src []byte, size int) ([]byte, error) {
	if len(src) != size {
		return dst, errLength
	}
	dst = append(dst, '"')
	for i, b := range src {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, hex[b>>4], hex[b&0xf])
	}
	return append(dst, '"'), nil
}
