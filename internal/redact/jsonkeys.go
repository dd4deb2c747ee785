package redact

// defaultJSONKeys is the built-in redact_json_keys list: the names under which
// applications log credentials in JSON, matched as Names match (case, '-', '_' and
// %-escapes ignored; "*part*" anywhere in the name), so db_password, clientSecret,
// X-Api-Key and refresh_token are covered while author, page and state stay.
var defaultJSONKeys = [...]string{
	"password", "passwd", "pwd", "pass", "passphrase", "*passw*", "*secret*", "*token*",
	"api_key", "*apikey*", "*privatekey*", "authorization", "proxy-authorization",
	"cookie", "cookies", "set-cookie", "*credential*", "session", "session_id", "sid",
	"jwt", "otp", "pin", "signature", "sig", "hmac", "client_assertion", "samlresponse",
}

// DefaultJSONKeys returns a new copy of the built-in list of secret JSON key names
// (the redact_json_keys default), for NewNames.
func DefaultJSONKeys() []string { return append([]string(nil), defaultJSONKeys[:]...) }
