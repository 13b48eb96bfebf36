import DaxPinCore

/// One line of /proc/self/mountinfo.
struct MountEntry: Equatable, Sendable {
  var mountPoint: String
  var fstype: String
  var source: String
  /// Per-mount options and superblock options together.
  var options: [String]

  /// The DAX option as written (`dax`, `dax=always`, `dax=inode`), nil when the mount has none
  /// or says `dax=never`.
  var daxOption: String? {
    options.first { $0 == "dax" || $0 == "dax=always" || $0 == "dax=inode" }
  }
}

enum MountInfo {
  /// Parses mountinfo (proc(5)): `id parent maj:min root mountpoint opts [optional...] - fstype source superopts`.
  static func parse(_ text: String) -> [MountEntry] {
    text.split(separator: "\n").compactMap { line in
      let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      guard let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count >= dash + 3 else { return nil }
      let opts = fields[5].split(separator: ",").map(String.init)
      let superOpts = fields.count > dash + 3 ? fields[dash + 3].split(separator: ",").map(String.init) : []
      return MountEntry(
        mountPoint: unescape(fields[4]), fstype: fields[dash + 1], source: unescape(fields[dash + 2]),
        options: opts + superOpts)
    }
  }

  /// mountinfo escapes space, tab, newline and backslash as `\040`-style octal.
  static func unescape(_ s: String) -> String {
    guard s.contains("\\") else { return s }
    var out: [UInt8] = []
    let bytes = Array(s.utf8)
    var i = 0
    while i < bytes.count {
      if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count + 0,
        let v = UInt8(String(decoding: bytes[(i + 1)...min(i + 3, bytes.count - 1)], as: UTF8.self), radix: 8)
      {
        out.append(v)
        i += 4
      } else {
        out.append(bytes[i])
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
