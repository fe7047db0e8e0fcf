package jwtauth

// requirement is one registered claim Options.Require asks for, with the
// refusal of a token that lacks it, built once so that refusing costs no
// allocation and names the claim.
type requirement struct {
	name string
	err  *Error
}

// requirements are the registered claims (RFC 7519 §4.1) Options.Require
// accepts: those pgfast checks or uses. jti is left out (pgfast keeps no
// replay list) and so is anything unregistered.
var requirements = func() []requirement {
	var out []requirement
	for _, name := range []string{"exp", "nbf", "iat", "iss", "aud", "sub"} {
		out = append(out, requirement{name: name, err: &Error{Reason: "missing required claim " + name}})
	}
	return out
}()

// requirementOf returns the requirement for a claim name, exactly as the
// claim is spelled.
func requirementOf(name string) (requirement, bool) {
	for _, r := range requirements {
		if r.name == name {
			return r, true
		}
	}
	return requirement{}, false
}
