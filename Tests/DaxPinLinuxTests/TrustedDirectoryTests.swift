import DaxPinCore
import Foundation
import Glibc
import Testing

@testable import DaxPinLinux

/// `TrustedDirectory` on the real filesystem, under a private scratch directory (created 0755
/// by root: a trusted place to start from). The tests run as root, so they can hand files to
/// uid 65534 (nobody) as a hostile user would own them.
@Suite("lab --out and --cache: directories checked before root writes into them")
struct TrustedDirectoryTests {
  static let nobody: uid_t = 65534

  /// The refusal `check` threw, or nil when the directory was accepted.
  func refusal(_ path: String, missing: TrustedDirectory.Missing = .create, trusted: Set<uid_t>? = nil) -> TrustedDirectory.Refusal? {
    do {
      if let trusted {
        try TrustedDirectory.check(path, missing: missing, trusted: trusted)
      } else {
        try TrustedDirectory.check(path, missing: missing)
      }
      return nil
    } catch {
      return error
    }
  }

  func mkdir(_ path: String, _ mode: mode_t, owner: uid_t = 0) throws {
    try #require(Glibc.mkdir(path, mode) == 0)
    try #require(chmod(path, mode) == 0)  // past the umask
    try #require(chown(path, owner, 0) == 0)
  }

  func mode(_ path: String) -> mode_t? {
    var st = stat()
    return Glibc.lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR ? st.st_mode & 0o7777 : nil
  }

  @Test func missingComponentsAreCreatedAndAGoodDirectoryIsAccepted() throws {
    let s = try OutputScratch()
    #expect(refusal(s.path + "/a/b/c") == nil)
    let made = 0o755 & ~processUmask()
    #expect(mode(s.path + "/a") == made && mode(s.path + "/a/b/c") == made)
    // Again, now that it exists; and with "." and ".." on the way.
    #expect(refusal(s.path + "/a/./b/../b/c") == nil)
    // `.refused`: a missing directory is an error that names it; `.allowed`: what exists is
    // checked and the rest accepted. Neither makes anything.
    let missing = try #require(refusal(s.path + "/z/y", missing: .refused))
    #expect(missing.message == "cannot open \(s.path)/z: ENOENT", "\(missing)")
    #expect(refusal(s.path + "/z/y", missing: .allowed) == nil)
    #expect(!FileManager.default.fileExists(atPath: s.path + "/z"))
    try mkdir(s.path + "/open", 0o777)
    #expect(refusal(s.path + "/open/z/y", missing: .allowed) != nil, "what exists is still checked")
  }

  @Test func aDirectoryOthersCanWriteIsRefusedOnTheWayAndAtTheEnd() throws {
    let s = try OutputScratch()
    try mkdir(s.path + "/shared", 0o777)
    let onTheWay = try #require(refusal(s.path + "/shared/out"))
    #expect(onTheWay.message == "\(s.path)/shared is writable by other users (mode 0777): another user could swap a name in it for a link to any file; choose a directory only root can write, or chmod go-w \(s.path)/shared")
    #expect(!FileManager.default.fileExists(atPath: s.path + "/shared/out"), "nothing is created past the refusal")
    let atTheEnd = try #require(refusal(s.path + "/shared"))
    #expect(atTheEnd.message.hasPrefix("\(s.path)/shared is writable by other users"))
    try mkdir(s.path + "/group", 0o775)
    let group = try #require(refusal(s.path + "/group/out"))
    #expect(group.message.hasPrefix("\(s.path)/group is writable by its group (mode 0775)"))
  }

  @Test func aStickyDirectoryIsFineOnTheWayButNotAsTheDirectoryItself() throws {
    let s = try OutputScratch()
    try mkdir(s.path + "/tmp", 0o1777)
    #expect(refusal(s.path + "/tmp/mine") == nil)
    #expect(mode(s.path + "/tmp/mine") == 0o755 & ~processUmask())
    let itself = try #require(refusal(s.path + "/tmp"))
    #expect(itself.message.contains("(mode 01777, sticky): anyone could create the names daxpin is about to write"))
    #expect(itself.message.hasSuffix("use a directory of your own inside it (mkdir -m 0755 \(s.path)/tmp/daxpin-lab)"))
    // Another user's directory inside the sticky one (made there before root came): refused.
    try mkdir(s.path + "/tmp/theirs", 0o755, owner: Self.nobody)
    let theirs = try #require(refusal(s.path + "/tmp/theirs"))
    #expect(theirs.message == "\(s.path)/tmp/theirs is owned by uid 65534, not by root or by you: that user could replace what daxpin writes there; choose a directory root owns")
    #expect(refusal(s.path + "/tmp/theirs/deeper") != nil)
    #expect(!FileManager.default.fileExists(atPath: s.path + "/tmp/theirs/deeper"))
  }

  @Test func symbolicLinksAreFollowedOnlyWhenATrustedUserOwnsThem() throws {
    let s = try OutputScratch()
    try mkdir(s.path + "/real", 0o755)
    try #require(symlink(s.path + "/real", s.path + "/ours") == 0)
    #expect(refusal(s.path + "/ours/out") == nil)
    #expect(FileManager.default.fileExists(atPath: s.path + "/real/out"))
    try #require(symlink("/etc", s.path + "/evil") == 0)
    try #require(lchown(s.path + "/evil", Self.nobody, 0) == 0)
    let evil = try #require(refusal(s.path + "/evil/out"))
    #expect(evil.message == "\(s.path)/evil is a symbolic link owned by uid 65534, not by root or by you; refusing to follow it")
    #expect(!FileManager.default.fileExists(atPath: "/etc/out"))
    // A relative link that climbs out through "..", owned by root: followed, and vetted there.
    try mkdir(s.path + "/open", 0o777)
    try #require(symlink("../open", s.path + "/real/up") == 0)
    #expect(refusal(s.path + "/real/up/x")?.message.hasPrefix("\(s.path)/real/../open is writable by other users") == true)
    // A loop ends.
    try #require(symlink("loop", s.path + "/loop") == 0)
    #expect(refusal(s.path + "/loop")?.message.contains("ELOOP") == true)
  }

  @Test func aFileAFIFOOrADeviceIsNotADirectory() throws {
    let s = try OutputScratch()
    try s.write("file", "x")
    try #require(mkfifo(s.path + "/fifo", 0o600) == 0)
    for name in ["file", "fifo"] {
      #expect(refusal(s.path + "/" + name)?.message == "\(s.path)/\(name) is not a directory (ENOTDIR)")
      #expect(refusal(s.path + "/" + name + "/below")?.message == "\(s.path)/\(name) is not a directory (ENOTDIR)")
    }
    #expect(refusal("/dev/null")?.message == "/dev/null is not a directory (ENOTDIR)")
    #expect(refusal("")?.message == "an empty path")
  }

  /// `sudo daxpin lab` from a user's own checkout: their directories are trusted, as the user
  /// could write anything as root anyway; nobody else's are.
  @Test func theUserWhoBecameRootWithSudoIsTrusted() throws {
    let s = try OutputScratch()
    try mkdir(s.path + "/home", 0o755, owner: Self.nobody)
    #expect(refusal(s.path + "/home/lab-out", trusted: TrustedDirectory.trustedUsers(sudoUID: "65534")) == nil)
    #expect(refusal(s.path + "/home/lab-out", trusted: TrustedDirectory.trustedUsers(sudoUID: nil)) != nil)
    #expect(TrustedDirectory.trustedUsers(sudoUID: "alice") == [0, geteuid()])
  }
}
