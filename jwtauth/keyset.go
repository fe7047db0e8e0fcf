package jwtauth

// keySet is every key a Verifier knows at one moment: the configured ones
// and those of the last good JWKS fetch. It is immutable; a refresh builds
// a new one and swaps it in atomically, so Verify reads it without a lock.
type keySet struct {
	byKid map[string]*key // public keys by kid (thumbprint or JWKS kid)
	byAlg [numAlgs][]*key // every key by algorithm, for tokens without a kid
	n     int             // number of keys
}

// newKeySet merges the configured keys with fetched ones. On a kid present
// in both, the configured key wins.
func newKeySet(static, fetched []*key) *keySet {
	s := &keySet{byKid: make(map[string]*key, len(static)+len(fetched))}
	for _, list := range [][]*key{static, fetched} {
		for _, k := range list {
			if k.kid != "" {
				if _, dup := s.byKid[k.kid]; dup {
					continue
				}
				s.byKid[k.kid] = k
			}
			s.byAlg[k.alg] = append(s.byAlg[k.alg], k)
			s.n++
		}
	}
	return s
}
