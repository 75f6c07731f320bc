# The project's three builds, in one place: sourced by scripts/test (what CI runs) and
# scripts/stress-gate, so both build and test exactly the same configurations.
#
#   build_dir NAME    the directory of build NAME (release | asan | tsan)
#   build_args NAME   its Meson options
#
# Sanitizer builds compile at -O0 with line tables only (-g1): the sanitizers instrument every
# access at any optimisation level, and stack traces keep their file:line, while compiling costs
# a third of -O1 -g (one Asio coroutine TU under ASan here: 50 s at -O1 -g, 33 s at -O1 -g1, 18 s
# at -O0 -g1) — what keeps CI within its time as chapters are added.

build_dir() {
  case "$1" in
    release) echo build ;;
    asan) echo build-asan ;;
    tsan) echo build-tsan ;;
    *) echo "unknown build $1 (release, asan or tsan)" >&2; return 2 ;;
  esac
}

build_args() {
  local sanitizer_build="-Db_lundef=false -Dbuildtype=plain -Doptimization=0 -Ddebug=false -Dcpp_args=-g1"
  case "$1" in
    release) echo "-Dbuildtype=release" ;;
    asan) echo "-Db_sanitize=address,undefined $sanitizer_build" ;;
    tsan) echo "-Db_sanitize=thread $sanitizer_build" ;;
    *) echo "unknown build $1 (release, asan or tsan)" >&2; return 2 ;;
  esac
}
