/// What daxpin knows about its own build: the version, the git commit it was built from and the
/// lab guest's scripts, the last two compiled in from the source tree by the EmbedBuildInfo
/// plugin (Plugins/EmbedBuildInfo), so an installed binary needs nothing from a checkout.
public enum BuildInfo {
  /// The release version (the Debian package's version, the reports' `tool.version`).
  public static let version = "0.1.0"

  /// The full object name of the commit HEAD named when this binary was built, or nil when it was
  /// built from a tree without `.git` (a source tarball).
  public static var commit: String? { EmbeddedBuildInfo.commit }

  /// `daxpin --version`: `0.1.0 (commit 0123…)`, or `0.1.0 (unknown commit)`.
  public static var versionLine: String {
    "\(version) (\(commit.map { "commit \($0)" } ?? "unknown commit"))"
  }

  /// scripts/lab/init as it was when this binary was built: the lab guest's PID 1.
  public static var guestInit: String { EmbeddedBuildInfo.guestInit }

  /// scripts/lab/exec as it was when this binary was built: runs `daxpin lab --exec`'s command in
  /// the guest.
  public static var guestExec: String { EmbeddedBuildInfo.guestExec }

  /// bench/pinbench.c as it was when this binary was built: `daxpin bench`'s C twin, which
  /// `daxpin lab --bench` compiles for the guests.
  public static var pinbenchSource: String { EmbeddedBuildInfo.pinbenchSource }
}
