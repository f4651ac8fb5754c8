// The meson subprojects of mediasoup's worker, each replaced by a tiny project that wraps Debian's own library
// (shared/RECIPES.md "mediasoup"). mediasoup's meson.build calls `subproject('openssl')` and friends directly, so
// `--wrap-mode` alone cannot switch them to system libraries: the .wrap files (which would download sources) are
// deleted and these stand in their place, defining the variables mediasoup reads and declaring the options it passes.
// The `*_lib = []` lists feed only the optional `libmediasoup-worker` target; catch2 is for mediasoup's own tests.

/** Debian packages the worker is built from (apt names). */
export const BUILD_PACKAGES = [
  'build-essential',
  'pkg-config',
  'libssl-dev',
  'libuv1-dev',
  'libsrtp2-dev',
  'libusrsctp-dev',
  'libabsl-dev',
  'flatbuffers-compiler',
  'libflatbuffers-dev',
];

const boolean = (name) => `option('${name}', type: 'boolean', value: false)`;
const feature = (name) => `option('${name}', type: 'feature', value: 'disabled')`;

/** Subproject directory -> its meson.build and (when mediasoup passes options to it) its meson_options.txt. */
export const SYSTEM_SUBPROJECTS = {
  openssl: {
    build: [
      "openssl_dep = dependency('openssl')",
      "libcrypto_dep = dependency('libcrypto')",
      "libssl_dep = dependency('libssl')",
      'libcrypto_lib = []',
      'libssl_lib = []',
    ],
  },
  libuv: {
    build: ["libuv_dep = dependency('libuv')", 'libuv = []'],
    options: [boolean('build_tests'), boolean('build_benchmarks')],
  },
  libsrtp2: {
    // Debian puts srtp.h in <includedir>/srtp2 and mediasoup includes <srtp.h>.
    build: [
      "srtp2_system = dependency('libsrtp2')",
      "libsrtp2_dep = declare_dependency(dependencies: srtp2_system, compile_args: ['-I' + srtp2_system.get_variable(pkgconfig: 'includedir') / 'srtp2'])",
      'libsrtp2 = []',
    ],
    options: [
      "option('crypto-library', type: 'combo', choices: ['none', 'openssl', 'nss', 'mbedtls'], value: 'none')",
      feature('crypto-library-kdf'),
      feature('tests'),
    ],
  },
  usrsctp: {
    build: ["usrsctp_dep = dependency('usrsctp')", 'usrsctp = []'],
    options: [boolean('sctp_build_programs')],
  },
  'abseil-cpp': {
    build: [
      "absl_container_dep = dependency('absl_flat_hash_map')",
      "absl_strings_dep = dependency('absl_strings')",
      "absl_types_dep = dependency('absl_optional')",
      'absl_container_lib = []',
    ],
  },
  catch2: { build: ['catch2_dep = declare_dependency()'] },
  flatbuffers: { build: ["flatbuffers_dep = dependency('flatbuffers')", 'flatbuffers_lib = []'] },
};

/**
 * The files to write under worker/subprojects/, as [relative path, text].
 *
 * @example
 *   for (const [file, text] of subprojectFiles()) writeFileSync(path.join(subprojectsDir, file), text);
 */
export function subprojectFiles() {
  return Object.entries(SYSTEM_SUBPROJECTS).flatMap(([name, { build, options }]) => [
    [`${name}/meson.build`, [`project('${name}', version: 'system')`, ...build, ''].join('\n')],
    ...(options ? [[`${name}/meson_options.txt`, [...options, ''].join('\n')]] : []),
  ]);
}
