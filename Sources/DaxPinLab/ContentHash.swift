import DaxPinLinux
import FoundationEssentials
import Glibc
import Synchronization

/// SHA-256 of files and text, for the lab's cache keys. Files are hashed by `sha256sum` (one
/// process for many files, far faster than Swift code under `swift build`'s debug setting), and
/// each file's digest is remembered for the rest of the invocation while its inode, size and
/// modification time stay the same, so four kernels hash daxpin and the libraries once.
public enum ContentHash {
  struct Identity: Equatable {
    var device: UInt64, inode: UInt64, size: Int64, mtimeSeconds: Int, mtimeNanoseconds: Int
  }
  static let memo = Mutex<[String: (Identity, String)]>([:])

  static func identity(_ path: String) -> Identity? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return Identity(
      device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size), mtimeSeconds: st.st_mtim.tv_sec,
      mtimeNanoseconds: st.st_mtim.tv_nsec)
  }

  /// The lowercase hex SHA-256 of each file (following symlinks), by path.
  public static func files(_ paths: [String]) throws(LabError) -> [String: String] {
    var out: [String: String] = [:]
    var todo: [String] = []
    var ids: [String: Identity] = [:]
    for p in Set(paths) {
      guard let id = identity(p) else { throw .setup("cannot read \(p)") }
      ids[p] = id
      if let (known, digest) = memo.withLock({ $0[p] }), known == id { out[p] = digest } else { todo.append(p) }
    }
    if todo.isEmpty { return out }
    // sha256sum prints `<hex>  <path>`, escaping a path with a backslash or newline by a leading
    // `\`; paths here come from the lab's own directories, the tools and ldd, so none has one.
    let r: HostProcess.Output
    do { r = try HostProcess.run(["sha256sum", "--"] + todo.sorted()) } catch { throw .setup("\(error)") }
    guard r.exit.succeeded else { throw .setup("sha256sum failed: \(r.stderr.suffix(300))") }
    for line in r.stdout.split(separator: "\n") {
      guard line.count > 66, !line.hasPrefix("\\") else { continue }
      let digest = String(line.prefix(64))
      let path = String(line.dropFirst(66))
      out[path] = digest
      if let id = ids[path] { memo.withLock { $0[path] = (id, digest) } }
    }
    for p in todo where out[p] == nil { throw .setup("sha256sum printed no digest for \(p)") }
    return out
  }

  /// The SHA-256 of `text` (UTF-8).
  public static func text(_ text: String) throws(LabError) -> String {
    let dir: String
    do { dir = try HostProcess.scratchDirectory() } catch { throw .setup("\(error)") }
    defer { HostProcess.removeTree(dir) }
    let path = dir + "/text"
    guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else { throw .setup("cannot write \(path)") }
    memo.withLock { _ = $0.removeValue(forKey: path) }
    let digest = try files([path])[path]!
    memo.withLock { _ = $0.removeValue(forKey: path) }
    return digest
  }
}
