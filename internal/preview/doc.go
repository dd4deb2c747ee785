// Package preview runs envoy_s3's own pipeline over log lines a user already has,
// with the options they intend to put in the task definition, and reports what the
// plugin would do with each record, without writing anything anywhere.
//
// The rules it keeps:
//   - No second implementation. Records go through pipeline.Inspect, which is Flush
//     minus the store: the same decoder, recogniser, normaliser, redactor, key
//     templates and encoders. Stored sizes come from internal/batch with the same
//     frame encoders the upload workers use.
//   - Nothing leaves the machine. The pipeline is built with a Putter that refuses
//     every upload and Inspect never reaches the store, so no object, spool file or
//     CloudWatch call is made; store_dir is forced off.
//   - Options are the plugin's options. They are parsed by internal/config, so a
//     misspelt key or a bad value gives the plugin's own one-line error. Only bucket
//     and region get a stand-in when missing (a preview needs neither), and the
//     summary says so.
//   - Secrets stay hidden. Per-record output is the redacted record; a before/after
//     example shows each secret as the name of the rule that matched it, never its
//     value.
package preview
