package redact

// defaultQueryParams is the built-in redact_query_params list: the usual credential
// names, the names services use for tokens, assertions and one-time codes,
// and "*part*" entries for any name containing a word that says secret.
// Names are matched in normal form (see names.go), so hyphen, underscore and
// case variants of each are covered.
var defaultQueryParams = [...]string{
	"token", "access_token", "id_token", "refresh_token", "api_key", "apikey",
	"key", "password", "passwd", "pwd", "secret", "client_secret", "session",
	"session_id", "sessionid", "sid", "sig", "signature", "x-amz-signature",
	"x-amz-credential", "x-amz-security-token", "code", "auth", "authorization",
	"jwt", "credential", "private_key",
	"auth_token", "access-token", "oauth_token", "session_token", "api-key",
	"x-api-key", "client_assertion", "samlresponse", "samlrequest",
	"code_verifier", "otp", "pass", "hmac", "x-goog-signature", "x-goog-credential",
	"*token*", "*secret*", "*passw*", "*signature*", "*credential*", "*api_key*",
	"*private_key*", "*session*",
}

// DefaultQueryParams returns a new copy of the built-in list of sensitive
// query parameter names (the redact_query_params default).
func DefaultQueryParams() []string { return append([]string(nil), defaultQueryParams[:]...) }

// DefaultDetectors returns a new copy of the redact_detectors default:
// every detector but the personal-data ones (email, ipv4, ipv6), which are
// on request.
func DefaultDetectors() []Detector {
	var out []Detector
	for d := range numDetectors {
		if d != Email && d != IPv4 && d != IPv6 {
			out = append(out, d)
		}
	}
	return out
}

// DetectorNames returns the redact_detectors names of all detectors.
func DetectorNames() []string { return append([]string(nil), detectorNames[:]...) }

// DefaultDetectorNames returns the names of DefaultDetectors.
func DefaultDetectorNames() []string {
	var out []string
	for _, d := range DefaultDetectors() {
		out = append(out, d.String())
	}
	return out
}
