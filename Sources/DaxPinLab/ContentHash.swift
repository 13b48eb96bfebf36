import DaxPinLinux
import FoundationEssentials
import Glibc
import Synchronization

/// Content hashes of files and text for the lab's cache keys: BLAKE2b-256 by `b2sum` (coreutils;
/// one process for many files, three times sha256sum's speed where sha256sum has no SHA-NI).
///
/// Hashing daxpin, the libraries and a kernel's modules still took 0.15 s of every invocation,
/// so each file's digest is remembered with its identity (device, inode, size, modification time
/// to the nanosecond) — in memory for the invocation, and in `memoFile` (in the cache directory)
/// across invocations — and hashed again only when its identity changes. The same file keeps
/// `ldd`'s answer for a binary.
public enum ContentHash {
  struct Identity: Equatable, Hashable {
    var device: UInt64, inode: UInt64, size: Int64, mtimeSeconds: Int, mtimeNanoseconds: Int
    var fields: String { "\(device) \(inode) \(size) \(mtimeSeconds) \(mtimeNanoseconds)" }
    init(device: UInt64, inode: UInt64, size: Int64, mtimeSeconds: Int, mtimeNanoseconds: Int) {
      self.device = device
      self.inode = inode
      self.size = size
      self.mtimeSeconds = mtimeSeconds
      self.mtimeNanoseconds = mtimeNanoseconds
    }
    init?<S: StringProtocol>(fields f: [S]) {
      guard f.count == 5, let d = UInt64(f[0]), let i = UInt64(f[1]), let s = Int64(f[2]), let ms = Int(f[3]), let mn = Int(f[4]) else {
        return nil
      }
      self.init(device: d, inode: i, size: s, mtimeSeconds: ms, mtimeNanoseconds: mn)
    }
  }

  struct Memo {
    var digests: [String: (Identity, String)] = [:]
    var libraries: [String: (Identity, [String])] = [:]
    /// The memo file read, if any, and whether anything new is to be written to it.
    var loaded: String?
    var dirty = false
  }
  static let memo = Mutex(Memo())

  static func identity(_ path: String) -> Identity? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return Identity(
      device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size), mtimeSeconds: st.st_mtim.tv_sec,
      mtimeNanoseconds: st.st_mtim.tv_nsec)
  }

  /// Reads `memoFile` into the memo (once per file per invocation). Lines:
  /// `digest <5 identity fields> <hex> <path>` and `ldd <5 identity fields> <lib:lib:...> <path>`;
  /// the path is the rest of the line.
  static func load(_ memoFile: String?) {
    guard let memoFile else { return }
    memo.withLock { m in
      guard m.loaded != memoFile else { return }
      m.loaded = memoFile
      for line in (HostProcess.readFile(memoFile) ?? "").split(separator: "\n") {
        let f = line.split(separator: " ", maxSplits: 7, omittingEmptySubsequences: false)
        guard f.count == 8, let id = Identity(fields: Array(f[1...5])) else { continue }
        let path = String(f[7])
        switch f[0] {
        case "digest": if m.digests[path] == nil { m.digests[path] = (id, String(f[6])) }
        case "ldd": if m.libraries[path] == nil { m.libraries[path] = (id, f[6] == "-" ? [] : f[6].split(separator: ":").map(String.init)) }
        default: break
        }
      }
    }
  }

  /// Writes the memo back to `memoFile` if it learned something (atomically: concurrent
  /// invocations each write a whole file; the last one wins, and a lost entry is only hashed again).
  static func save(_ memoFile: String?) {
    guard let memoFile else { return }
    let text: String? = memo.withLock { m in
      guard m.dirty else { return nil }
      m.dirty = false
      var lines: [String] = []
      for (path, (id, digest)) in m.digests.sorted(by: { $0.key < $1.key }) where !path.contains("\n") {
        lines.append("digest \(id.fields) \(digest) \(path)")
      }
      for (path, (id, libs)) in m.libraries.sorted(by: { $0.key < $1.key })
      where !path.contains("\n") && !libs.contains(where: { $0.contains(":") || $0.contains(" ") || $0.contains("\n") }) {
        lines.append("ldd \(id.fields) \(libs.isEmpty ? "-" : libs.joined(separator: ":")) \(path)")
      }
      return lines.joined(separator: "\n") + "\n"
    }
    guard let text else { return }
    let tmp = "\(memoFile).\(getpid()).tmp"
    guard FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8)) else { return }
    if rename(tmp, memoFile) != 0 { unlink(tmp) }
  }

  /// The lowercase hex BLAKE2b-256 of each file (following symlinks), by path.
  public static func files(_ paths: [String], memoFile: String? = nil) throws(LabError) -> [String: String] {
    load(memoFile)
    var out: [String: String] = [:]
    var todo: [String] = []
    var ids: [String: Identity] = [:]
    for p in Set(paths) {
      guard let id = identity(p) else { throw .setup("cannot read \(p)") }
      ids[p] = id
      if let (known, digest) = memo.withLock({ $0.digests[p] }), known == id { out[p] = digest } else { todo.append(p) }
    }
    if todo.isEmpty { return out }
    // b2sum prints `<hex>  <path>`, escaping a path with a backslash or newline by a leading
    // `\`; paths here come from the lab's own directories, the tools and ldd, so none has one.
    let r: HostProcess.Output
    do { r = try HostProcess.run(["b2sum", "-l", "256", "--"] + todo.sorted()) } catch { throw .setup("\(error)") }
    guard r.exit.succeeded else { throw .setup("b2sum failed: \(r.stderr.suffix(300))") }
    for line in r.stdout.split(separator: "\n") {
      guard line.count > 66, !line.hasPrefix("\\") else { continue }
      let digest = String(line.prefix(64))
      let path = String(line.dropFirst(66))
      out[path] = digest
      if let id = ids[path] {
        memo.withLock {
          $0.digests[path] = (id, digest)
          $0.dirty = true
        }
      }
    }
    for p in todo where out[p] == nil { throw .setup("b2sum printed no digest for \(p)") }
    save(memoFile)
    return out
  }

  /// The hex BLAKE2b-256 of `text` (UTF-8).
  public static func text(_ text: String) throws(LabError) -> String {
    let dir: String
    do { dir = try HostProcess.scratchDirectory() } catch { throw .setup("\(error)") }
    defer { HostProcess.removeTree(dir) }
    let path = dir + "/text"
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else { throw .setup("cannot write \(path)") }
    let r: HostProcess.Output
    do { r = try HostProcess.run(["b2sum", "-l", "256", "--", path]) } catch { throw .setup("\(error)") }
    guard r.exit.succeeded, r.stdout.count >= 64 else { throw .setup("b2sum failed: \(r.stderr.suffix(300))") }
    return String(r.stdout.prefix(64))
  }

  /// The shared libraries `ldd` names for a binary, remembered like digests (and asked again when
  /// one of them is gone).
  static func sharedLibraries(of binary: String, memoFile: String? = nil) throws(LabError) -> [String] {
    load(memoFile)
    let id = identity(binary)
    if let id, let (known, libs) = memo.withLock({ $0.libraries[binary] }), known == id,
      libs.allSatisfy({ FileManager.default.fileExists(atPath: $0) })
    {
      return libs
    }
    guard let r = try? HostProcess.run(["ldd", binary]) else { throw .setup("ldd is missing") }
    let libs = Initramfs.libraries(inLdd: r.stdout)
    if let id {
      memo.withLock {
        $0.libraries[binary] = (id, libs)
        $0.dirty = true
      }
      save(memoFile)
    }
    return libs
  }
}
