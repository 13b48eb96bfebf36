/// Writes a cpio archive in the `newc` format the kernel unpacks as an initramfs.
public struct CpioWriter {
  public private(set) var bytes: [UInt8] = []
  private var inode: UInt32 = 1

  public init() {}

  public enum Entry {
    case directory
    case file([UInt8], executable: Bool)
    case symlink(String)
  }

  public mutating func add(_ path: String, _ entry: Entry) {
    let name = path.hasPrefix("/") ? String(path.dropFirst()) : path
    let (mode, data): (UInt32, [UInt8]) =
      switch entry {
      case .directory: (0o040755, [])
      case .file(let d, let x): (x ? 0o100755 : 0o100644, d)
      case .symlink(let target): (0o120777, Array(target.utf8))
      }
    header(name: name, mode: mode, size: data.count, nlink: entry.isDirectory ? 2 : 1)
    bytes += data
    pad()
  }

  /// The `TRAILER!!!` entry that ends the archive.
  public mutating func finish() {
    header(name: "TRAILER!!!", mode: 0, size: 0, nlink: 1)
  }

  private mutating func header(name: String, mode: UInt32, size: Int, nlink: UInt32) {
    let fields: [UInt32] = [inode, mode, 0, 0, nlink, 0, UInt32(size), 0, 0, 0, 0, UInt32(name.utf8.count + 1), 0]
    inode += 1
    bytes += Array("070701".utf8)
    for f in fields {
      let hex = String(f, radix: 16, uppercase: true)
      bytes += Array((String(repeating: "0", count: 8 - hex.count) + hex).utf8)
    }
    bytes += Array(name.utf8) + [0]
    pad()
  }

  private mutating func pad() {
    while bytes.count % 4 != 0 { bytes.append(0) }
  }
}

extension CpioWriter.Entry {
  var isDirectory: Bool {
    if case .directory = self { return true }
    return false
  }
}
