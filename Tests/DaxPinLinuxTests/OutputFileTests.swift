import DaxPinCore
import Foundation
import Glibc
import SystemPackage
import Testing

@testable import DaxPinLinux

/// This process's umask, read without changing it (`Umask:` in `/proc/self/status`): `umask(2)`
/// can only be read by setting it, and a set umask is the whole process's — a suite running beside
/// the one that set it would create its files and directories with the wrong mode.
func processUmask() -> mode_t {
  let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
  let line = status.split(separator: "\n").first { $0.hasPrefix("Umask:") }
  return line.flatMap { mode_t($0.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces), radix: 8) } ?? 0o022
}

/// A scratch directory for one test, removed with everything in it.
final class OutputScratch {
  let path: String
  init() throws {
    path = NSTemporaryDirectory() + "daxpin-outputfile-\(UUID().uuidString)"
    // 0755 whatever the umask: a group-writable scratch would be refused by TrustedDirectory.
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }

  func names(_ sub: String = "") -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path + sub)) ?? []).sorted()
  }
  func read(_ name: String) -> String? { try? String(contentsOfFile: path + "/" + name, encoding: .utf8) }
  func write(_ name: String, _ text: String) throws { try text.write(toFile: path + "/" + name, atomically: false, encoding: .utf8) }
  func lstat(_ name: String) -> stat? {
    var st = stat()
    return Glibc.lstat(path + "/" + name, &st) == 0 ? st : nil
  }
}

/// The error `OutputFile.write` threw, or nil.
func outputError(_ text: String, to path: String) -> OutputFileError? {
  do {
    try OutputFile.write(text, to: path)
    return nil
  } catch {
    return error
  }
}

/// glibc's makedev(3) (a macro Swift does not import), for small major and minor numbers.
private func makedev(_ major: UInt64, _ minor: UInt64) -> dev_t { dev_t((major & 0xfff) << 8 | (minor & 0xff)) }

private var isRoot: Bool { geteuid() == 0 }

@Suite("OutputFile: where --output writes, and how")
struct OutputFileTests {
  @Test func absentPathIsCreatedWithMode0644MinusUmask() throws {
    let s = try OutputScratch()
    #expect(outputError("doc", to: s.path + "/new.json") == nil)
    #expect(s.lstat("new.json")?.st_mode == S_IFREG | (0o644 & ~processUmask()))
    #expect(s.read("new.json") == "doc")
    #expect(s.names() == ["new.json"])
  }

  @Test func relativePathIsResolvedFromTheWorkingDirectory() throws {
    let s = try OutputScratch()
    let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
    let relative = String(repeating: "../", count: depth) + s.path.dropFirst()  // ../../tmp/daxpin-...
    #expect(outputError("doc", to: relative + "/./r.json") == nil)
    #expect(s.read("r.json") == "doc")
  }

  @Test func regularFileIsReplacedByANewInode() throws {
    let s = try OutputScratch()
    try s.write("r.json", "old")
    let before = try #require(s.lstat("r.json"))
    #expect(outputError("new", to: s.path + "/r.json") == nil)
    #expect(s.read("r.json") == "new")
    #expect(s.lstat("r.json")?.st_ino != before.st_ino)
    #expect(s.names() == ["r.json"])
  }

  @Test(.enabled(if: isRoot, "chown needs root"))
  func regularFileKeepsOwnerGroupAndMode() throws {
    let s = try OutputScratch()
    try s.write("r.json", "old")
    try #require(chown(s.path + "/r.json", 1234, 4321) == 0 && chmod(s.path + "/r.json", 0o640) == 0)
    #expect(outputError("new", to: s.path + "/r.json") == nil)
    let st = try #require(s.lstat("r.json"))
    #expect(st.st_uid == 1234)
    #expect(st.st_gid == 4321)
    #expect(st.st_mode == S_IFREG | 0o640)
    #expect(s.read("r.json") == "new")
  }

  @Test(.enabled(if: isRoot, "chown needs root"))
  func setUserIDAndSetGroupIDAreNotKept() throws {
    let s = try OutputScratch()
    try s.write("r.json", "old")
    try #require(chmod(s.path + "/r.json", 0o6755) == 0)
    #expect(outputError("new", to: s.path + "/r.json") == nil)
    #expect(s.lstat("r.json")?.st_mode == S_IFREG | 0o755)
  }

  /// Another user's file or FIFO in a sticky directory anyone can write (/tmp): made there first
  /// to receive root's document, or to hang daxpin on a FIFO nobody reads. Refused, untouched,
  /// without opening the FIFO; the caller's own file there, and the directory owner's, are fine.
  @Test(.enabled(if: isRoot, "chown needs root"))
  func anotherUsersFileInAStickyDirectoryIsRefused() throws {
    let s = try OutputScratch()
    let tmp = s.path + "/tmp"
    try #require(mkdir(tmp, 0o755) == 0 && chmod(tmp, 0o1777) == 0)
    try s.write("tmp/planted.json", "theirs")
    try #require(chown(tmp + "/planted.json", 65534, 65534) == 0 && chmod(tmp + "/planted.json", 0o666) == 0)
    try #require(mkfifo(tmp + "/fifo.json", 0o666) == 0 && chown(tmp + "/fifo.json", 65534, 65534) == 0)
    for name in ["planted.json", "fifo.json"] {
      let e = try #require(outputError("root's", to: tmp + "/" + name))
      #expect(e.reason == .foreignFileInStickyDirectory(owner: 65534))
      #expect(e.description == "\(tmp)/\(name): owned by uid 65534 in a sticky directory others can write; another user made it there first, so daxpin will not write to it (remove it, or write somewhere only you can)")
    }
    #expect(s.read("tmp/planted.json") == "theirs")
    #expect(s.lstat("tmp/planted.json")?.st_uid == 65534)
    // Root's own file there is replaced as anywhere else.
    try s.write("tmp/mine.json", "old")
    #expect(outputError("new", to: tmp + "/mine.json") == nil)
    #expect(s.read("tmp/mine.json") == "new")
    // Not sticky, or not writable by others: the rule does not apply (the owner chose to share).
    try #require(chmod(tmp, 0o0777) == 0)
    #expect(outputError("shared", to: tmp + "/planted.json") == nil)
  }

  @Test func directoryIsEISDIR() throws {
    let s = try OutputScratch()
    for path in [s.path, s.path + "/", s.path + "/.", s.path + "/..", "/"] {
      let e = outputError("doc", to: path)
      #expect(e == OutputFileError(path: path, reason: .system(.isDirectory, detail: nil)))
      #expect(e?.description == "\(path): EISDIR")
    }
    #expect(s.names() == [])
  }

  @Test func missingDirectoryIsENOENTAndFileAsDirectoryIsENOTDIR() throws {
    let s = try OutputScratch()
    try s.write("file", "x")
    #expect(outputError("doc", to: s.path + "/none/r.json")?.description == "\(s.path)/none/r.json: ENOENT")
    #expect(outputError("doc", to: s.path + "/file/r.json")?.description == "\(s.path)/file/r.json: ENOTDIR")
    #expect(outputError("doc", to: s.path + "/file/")?.description == "\(s.path)/file/: ENOTDIR")
    #expect(outputError("doc", to: "")?.description == ": ENOENT")
    #expect(s.read("file") == "x")
  }

  @Test(.enabled(if: isRoot, "mknod needs root"))
  func characterDeviceIsWrittenThrough() throws {
    let s = try OutputScratch()
    try #require(mknod(s.path + "/null", S_IFCHR | 0o666, makedev(1, 3)) == 0)
    #expect(outputError("doc", to: s.path + "/null") == nil)
    let st = try #require(s.lstat("null"))
    #expect(st.st_mode & S_IFMT == S_IFCHR)
    #expect(st.st_rdev == makedev(1, 3))
    #expect(s.names() == ["null"])
  }

  @Test(.enabled(if: isRoot, "mknod needs root"))
  func blockDeviceIsRefusedAndNeverOpened() throws {
    let s = try OutputScratch()
    try #require(mknod(s.path + "/disk", S_IFBLK | 0o600, makedev(7, 250)) == 0)
    let e = outputError("doc", to: s.path + "/disk")
    #expect(e == OutputFileError(path: s.path + "/disk", reason: .blockDevice))
    #expect(e?.description == "\(s.path)/disk: a block device; refusing to write a document over it")
    #expect(s.lstat("disk")?.st_mode == S_IFBLK | 0o600)
  }

  @Test func fifoWithAReaderIsWrittenThrough() throws {
    let s = try OutputScratch()
    try #require(mkfifo(s.path + "/fifo", 0o600) == 0)
    let reader = open(s.path + "/fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    try #require(reader >= 0)
    defer { close(reader) }
    #expect(outputError("doc", to: s.path + "/fifo") == nil)
    var buf = [UInt8](repeating: 0, count: 16)
    let n = read(reader, &buf, buf.count)
    #expect(n == 3)
    #expect(Array(buf.prefix(3)) == Array("doc".utf8))
    #expect(s.lstat("fifo")?.st_mode == S_IFIFO | 0o600)
  }

  @Test func ownSymbolicLinkReplacesItsTargetAndStaysALink() throws {
    let s = try OutputScratch()
    try FileManager.default.createDirectory(atPath: s.path + "/sub", withIntermediateDirectories: false)
    try s.write("sub/t.json", "old")
    try #require(chmod(s.path + "/sub/t.json", 0o600) == 0)
    try #require(symlink("sub/t.json", s.path + "/link") == 0)
    #expect(outputError("new", to: s.path + "/link") == nil)
    #expect(s.lstat("link").map { $0.st_mode & S_IFMT } == S_IFLNK)
    #expect(s.read("sub/t.json") == "new")
    #expect(s.lstat("sub/t.json")?.st_mode == S_IFREG | 0o600)
    #expect(s.names() == ["link", "sub"])
    #expect(s.names("/sub") == ["t.json"])
  }

  @Test func danglingOwnSymbolicLinkCreatesItsTarget() throws {
    let s = try OutputScratch()
    try #require(symlink(s.path + "/made.json", s.path + "/link") == 0)
    #expect(outputError("doc", to: s.path + "/link") == nil)
    #expect(s.read("made.json") == "doc")
    #expect(s.lstat("link").map { $0.st_mode & S_IFMT } == S_IFLNK)
  }

  @Test func symbolicLinkLoopIsELOOP() throws {
    let s = try OutputScratch()
    try #require(symlink("b", s.path + "/a") == 0 && symlink("a", s.path + "/b") == 0)
    #expect(outputError("doc", to: s.path + "/a")?.description == "\(s.path)/a: ELOOP")
    #expect(s.names() == ["a", "b"])
  }

  @Test(.enabled(if: isRoot, "lchown needs root"))
  func symbolicLinkOwnedByAnotherUserIsRefused() throws {
    let s = try OutputScratch()
    try s.write("target", "untouched")
    try #require(symlink(s.path + "/target", s.path + "/link") == 0 && lchown(s.path + "/link", 65534, 65534) == 0)
    let e = outputError("doc", to: s.path + "/link")
    #expect(e == OutputFileError(path: s.path + "/link", reason: .foreignSymbolicLink(link: nil, owner: 65534, caller: 0)))
    #expect(e?.description == "\(s.path)/link: a symbolic link owned by uid 65534, not by root or by you; refusing to follow it as root")
    #expect(s.read("target") == "untouched")
    #expect(s.names() == ["link", "target"])
  }

  @Test(.enabled(if: isRoot, "lchown needs root"))
  func foreignLinkOnTheWayIsRefusedAndNamed() throws {
    let s = try OutputScratch()
    try FileManager.default.createDirectory(atPath: s.path + "/real", withIntermediateDirectories: false)
    try #require(symlink(s.path + "/real", s.path + "/dir") == 0 && lchown(s.path + "/dir", 65534, 65534) == 0)
    try #require(symlink("foreign", s.path + "/mine") == 0 && symlink(s.path + "/real/x", s.path + "/foreign") == 0)
    try #require(lchown(s.path + "/foreign", 65534, 65534) == 0)
    #expect(
      outputError("doc", to: s.path + "/dir/x.json")
        == OutputFileError(path: s.path + "/dir/x.json", reason: .foreignSymbolicLink(link: s.path + "/dir", owner: 65534, caller: 0)))
    #expect(
      outputError("doc", to: s.path + "/mine")?.description
        == "\(s.path)/mine: \(s.path)/foreign is a symbolic link owned by uid 65534, not by root or by you; refusing to follow it as root")
    #expect(s.names("/real") == [])
  }

  /// /proc/self/fd/N is daxpin's own fd N, duplicated: the document goes where fd N's offset is,
  /// and what is written to fd N afterwards follows it.
  @Test func ownDescriptorThroughProcSelfFdSharesItsOffset() throws {
    let s = try OutputScratch()
    let fd = open(s.path + "/out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    try #require(fd >= 0)
    defer { close(fd) }
    #expect(outputError("document\n", to: "/proc/self/fd/\(fd)") == nil)
    #expect(outputError("again\n", to: "/dev/fd/\(fd)") == nil)
    #expect(write(fd, "text\n", 5) == 5)
    #expect(s.read("out") == "document\nagain\ntext\n")
  }

  @Test func ownReadOnlyDescriptorIsEBADFNotAWriteIntoTheInput() throws {
    let s = try OutputScratch()
    try s.write("in", "input")
    let fd = open(s.path + "/in", O_RDONLY | O_CLOEXEC)
    try #require(fd >= 0)
    defer { close(fd) }
    #expect(outputError("doc", to: "/proc/self/fd/\(fd)")?.errno == .badFileDescriptor)
    #expect(s.read("in") == "input")
  }

  @Test func pathComponents() {
    #expect(OutputPath.components("a//b/./c/") == ["a", "b", ".", "c"])
    #expect(OutputPath.components("/") == [])
    #expect(OutputPath.components("../x") == ["..", "x"])
  }

  @Test func errorMessagesAreOneLine() {
    #expect(OutputFileError(path: "/r", reason: .system(.noSpace, detail: nil)).description == "/r: ENOSPC")
    #expect(
      OutputFileError(path: "/r", reason: .system(.permissionDenied, detail: "cannot create a temporary file in its directory")).description
        == "/r: EACCES: cannot create a temporary file in its directory")
    #expect(
      OutputFileError(path: "/r", reason: .foreignSymbolicLink(link: nil, owner: 1000, caller: 1001)).message
        == "a symbolic link owned by uid 1000, not by root or by you; refusing to follow it as uid 1001")
    #expect(StandardOutputError(errno: .brokenPipe).description == "standard output: EPIPE")
  }
}
