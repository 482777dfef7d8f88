# Sourced by scripts/build-guest.sh and scripts/image-create.sh: a private apt
# configuration for Debian 13 (trixie) riscv64 packages. The host's apt setup is never
# touched: apt reads only this file's settings for state, cache and sources, so the host's
# dpkg status and architectures stay out of it; Signed-By makes apt check the Release
# file's signature with bookworm's debian-archive-keyring, which carries trixie's keys.
# Needs $cache (the download cache) and a die function; sets aptdir, mirror, keyring and
# exports APT_CONFIG. trixie_apt_update refreshes the index, falling back to the cached one.
aptdir=$cache/apt-trixie-riscv64
mirror=http://deb.debian.org/debian
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

[ -r "$keyring" ] || die "$keyring is missing (package debian-archive-keyring)"
mkdir -p "$aptdir"/{etc/apt.conf.d,etc/preferences.d,etc/sources.list.d} \
    "$aptdir"/{lists/partial,archives/partial}
touch "$aptdir/status"
echo "deb [arch=riscv64 signed-by=$keyring] $mirror trixie main" >"$aptdir/etc/sources.list"
cat >"$aptdir/apt.conf" <<CONF
Dir::State "$aptdir";
Dir::State::Lists "$aptdir/lists";
Dir::State::status "$aptdir/status";
Dir::Cache "$aptdir";
Dir::Cache::Archives "$aptdir/archives";
Dir::Etc "$aptdir/etc";
APT::Architecture "riscv64";
APT::Architectures { "riscv64"; };
Acquire::Languages "none";
APT::Sandbox::User "root";
CONF
export APT_CONFIG=$aptdir/apt.conf

trixie_apt_update() {
    if ! apt-get -q update 2>&1 | sed 's/^/   /'; then
        ls "$aptdir"/lists/*_Packages* >/dev/null 2>&1 \
            || die "apt-get update failed and there is no cached index (network? a debian-archive-keyring older than 2023.3+deb12u2 lacks trixie's keys)"
        echo "   apt-get update failed; using the cached index" >&2
    fi
}
