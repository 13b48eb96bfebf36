import SystemPackage

extension Errno {
  /// The kernel's symbolic name (`EOPNOTSUPP`), as reports and users spell it.
  /// Linux numbers; on Linux ENOTSUP and EOPNOTSUPP are both 95 and reported as EOPNOTSUPP.
  public var name: String {
    Errno.linuxNames[rawValue] ?? "E\(rawValue)"
  }

  /// Parses a name back (`"EOPNOTSUPP"` → 95); used when reading reports.
  public init?(name: String) {
    guard let raw = Errno.linuxNames.first(where: { $0.value == name })?.key else { return nil }
    self.init(rawValue: raw)
  }

  static let linuxNames: [CInt: String] = [
    1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG", 9: "EBADF",
    11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV",
    19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 25: "ENOTTY",
    26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE", 30: "EROFS", 31: "EMLINK", 32: "EPIPE",
    34: "ERANGE", 36: "ENAMETOOLONG", 38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 75: "EOVERFLOW",
    79: "ELIBACC", 93: "EPROTONOSUPPORT", 95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 110: "ETIMEDOUT", 122: "EDQUOT",
  ]
}
