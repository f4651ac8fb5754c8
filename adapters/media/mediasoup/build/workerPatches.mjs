// The one change Knock makes to mediasoup's worker sources before building them against Debian's libraries.
//
// Why: mediasoup's DtlsTransport watches what OpenSSL writes with a callback on its outgoing memory BIO
// (BIO_set_callback_ex, onSslBioOut). For every call OpenSSL makes on that BIO, the callback's return value becomes the
// call's result, and onSslBioOut returns 1 for every control query that is not a bare BIO_CB_RETURN, whatever the
// memory BIO answered. Debian 12's OpenSSL 3.0 is built with kernel TLS (enable-ktls; mediasoup's own OpenSSL build is
// not), so when a handshake starts libssl asks the write BIO `BIO_get_ktls_send()` (ssl/record/ssl3_buffer.c,
// ssl3_setup_write_buffer): the callback answers "yes", libssl leaves the record write buffer unallocated (the kernel
// would encrypt), and the first handshake record it writes (the ServerHello in answer to Chromium's ClientHello) goes
// to a NULL buffer: SIGSEGV inside SSL_read, before any SRTP key exists. A PipeTransport (no DTLS) never gets there.
// The patch lets the memory BIO's own answer (0: no kernel TLS) through for the two kernel TLS queries only, which is
// exactly what mediasoup sees with an OpenSSL built without kernel TLS; every other query keeps mediasoup's behaviour.
// mediasoup 3.14.16 still has the same callback, so a newer version would need this too.

/** Bumped whenever a patch changes: part of the worker cache's key, so a worker built without it is not reused. */
export const PATCH_REVISION = 1;

/** [file under worker/, text that must occur exactly once, its replacement]. */
const PATCHES = [
  [
    'src/RTC/DtlsTransport.cpp',
    '  int /*argi*/,\n  long /*argl*/,\n  int ret,\n  size_t* /*processed*/)\n{\n\tlong resultOfcallback = (operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1;\n',
    '  int argi,\n  long /*argl*/,\n  int ret,\n  size_t* /*processed*/)\n{\n\tlong resultOfcallback = (operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1;\n\n' +
      '\t// Knock: the memory BIO\'s own answer to the kernel TLS queries (0), or a libssl built with kernel TLS\n' +
      '\t// (Debian\'s) believes this BIO encrypts in the kernel and writes handshake records to no buffer.\n' +
      '\tif (\n\t  operationType == (BIO_CB_CTRL | BIO_CB_RETURN) &&\n' +
      '\t  (argi == BIO_CTRL_GET_KTLS_SEND || argi == BIO_CTRL_GET_KTLS_RECV))\n\t{\n' +
      '\t\tresultOfcallback = static_cast<long>(ret);\n\t}\n',
  ],
];

/**
 * Applies the patches to a copy of mediasoup's worker sources; throws, naming the file, when a text is not found exactly
 * once (another mediasoup version: the patch must be looked at again, never applied blindly).
 *
 * @example
 *   applyWorkerPatches('/tmp/build/worker', { readFileSync, writeFileSync });
 */
export function applyWorkerPatches(workerDir, fs) {
  for (const [file, find, replacement] of PATCHES) {
    const full = `${workerDir}/${file}`;
    const text = fs.readFileSync(full, 'utf8');
    const count = text.split(find).length - 1;
    if (count !== 1) throw new Error(`mediasoup's ${file} is not the one Knock's patch was written for (found ${count} times); see workerPatches.mjs`);
    fs.writeFileSync(full, text.replace(find, replacement));
  }
}
