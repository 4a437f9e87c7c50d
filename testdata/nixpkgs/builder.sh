# Builder for testdata/nixpkgs (TEST DATA): repackage host Debian files into $out.
# Runs under Debian's static busybox `sh -e`; busybox applets work without PATH.
# Host tools: the host's dynamic loader, only to *list* what an ELF loads, and
# patchelf. It reads the host's /usr, so it runs with Nix's sandbox off: scripts/setup
# builds every package once (prebuild.nix, `--option sandbox false`, as root).
# Environment: see mkDebianPackage in default.nix.

hostlib=/usr/lib/x86_64-linux-gnu
hostldso=/lib64/ld-linux-x86-64.so.2
pe=$patchelfBin
list=$TMPDIR/elfs           # one "PATH-IN-OUT" per line: ELF files to patch
: > "$list"

die() { echo "builder: $*" >&2; exit 1; }

[ -d "$hostlib" ] || die "$hostlib is not visible: Nix's sandbox is on. This stand-in copies the \
host's Debian files; build it first with the sandbox off, as root: scripts/setup (it runs \
nix-build --option sandbox false testdata/nixpkgs/prebuild.nix)"

# each TEXT FUNC: FUNC A B for each non-empty "A B" line of TEXT
each() {
  printf '%s\n' "$1" | while read -r a b; do
    [ -n "$a" ] || continue
    "$2" "$a" "$b"
  done
}

is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' \n')" = '177ELF' ]; }
# Dynamic ELF = has DT_NEEDED entries (static binaries: `ld.so --list` would crash).
is_dynamic() { is_elf "$1" && [ -n "$("$pe" --print-needed "$1" 2>/dev/null)" ]; }

copy() {  # copy HOSTPATH OUTREL (dereferencing symlinks)
  [ -e "$1" ] || die "missing host file $1"
  mkdir -p "$out/$(dirname "$2")"
  cp -RL "$1" "$out/$2"
  chmod -R u+w "$out/$2"
}
add_file() { copy "$1" "$2"; }
add_bin()  { copy "$1" "$2"; echo "$out/$2" >> "$list"; }
add_mods() {
  mkdir -p "$out/$2"
  for f in "$1"/*.so; do
    b=$(basename "$f")
    case " $skip " in *" $b "*) continue ;; esac
    copy "$f" "$2/$b"; echo "$out/$2/$b" >> "$list"
  done
}
add_link() { mkdir -p "$out/$(dirname "$1")"; ln -sfn "$2" "$out/$1"; }

mkdir -p "$out"

# 1. Libraries of this package (for programs: the ones no library package provides).
#    A soname is looked up in $hostlib; an absolute path (a library Debian keeps
#    elsewhere, such as /usr/lib/libc-client.so.2007e) is taken as it is.
for src in $libs; do
  case "$src" in /*) so=${src##*/} ;; *) so=$src; src=$hostlib/$src ;; esac
  for d in $deps; do
    [ ! -e "$d/lib/$so" ] || die "$so is already provided by $d: do not copy it again"
  done
  copy "$src" "lib/$so"
  echo "$out/lib/$so" >> "$list"
done

# 2. Programs, module directories, plain files.
each "$bins" add_bin
each "$moddirs" add_mods
each "$files" add_file

# 3. Point every dynamic ELF at the store. The host loader lists (transitively) what
#    the unpatched copy loads; each soname must come from $out/lib or from one of the
#    library packages in $deps. The ELF gets DT_RPATH (not RUNPATH: DT_RPATH of the
#    executable also serves dlopen() from libraries without a path of their own, e.g.
#    glibc loading libgcc_s.so.1) naming exactly the directories that provide them.
if [ -n "$patchElf" ]; then
  sort -u "$list" | while read -r f; do
    is_dynamic "$f" || continue
    "$hostldso" --list "$f" > "$TMPDIR/ldd" 2>&1 || { cat "$TMPDIR/ldd" >&2; die "ld.so --list failed: $f"; }
    ! grep -q 'not found' "$TMPDIR/ldd" || { cat "$TMPDIR/ldd" >&2; die "unresolved on the host: $f"; }
    used=" "
    while read -r so arrow path rest; do
      [ "$arrow" = "=>" ] || continue              # vdso and loader lines
      if [ -e "$out/lib/$so" ]; then
        provider=$out
      else
        provider=
        for d in $deps; do
          if [ -e "$d/lib/$so" ]; then provider=$d; break; fi
        done
        [ -n "$provider" ] || die "$f needs $so ($path): add it to libs (private) or add its library package to deps"
      fi
      case "$used" in *" $provider "*) ;; *) used="$used$provider " ;; esac
    done < "$TMPDIR/ldd"
    rpath=
    for d in $out $deps; do
      case "$used" in *" $d "*) rpath="${rpath:+$rpath:}$d/lib" ;; esac
    done
    if "$pe" --print-interpreter "$f" >/dev/null 2>&1; then
      # An executable: our glibc's loader; glibc's directory is always on its path
      # (glibc dlopen()s libgcc_s.so.1, NSS modules, ... from there).
      case ":$rpath:" in *":$glibc/lib:"*) ;; *) rpath="${rpath:+$rpath:}$glibc/lib" ;; esac
      "$pe" --set-interpreter "$glibc/lib/ld-linux-x86-64.so.2" "$f"
    fi
    "$pe" --force-rpath --set-rpath "$rpath" "$f"
  done
fi

each "$links" add_link

if [ -n "$postInstall" ]; then eval "$postInstall"; fi
