import CVFIO
import DaxPinCore
import Glibc
import SystemPackage

/// Collects the inventory of the running host. Everything is read-only: files under /proc, /sys
/// and /dev, uname, getrlimit, statx, a throwaway io_uring instance, and libndctl/libdaxctl.
public struct LinuxInventory: Sendable {
  var files: FileTree

  /// - Parameter root: a prefix for /proc, /sys, /dev and /boot paths; tests use a fixture tree.
  public init(root: String = "") { files = FileTree(root: root) }

  public func collect() -> Inventory {
    Inventory(
      kernel: kernel(), privileges: privileges(), iommu: IOMMUReader(files: files).read(),
      vfio: VFIOReader(files: files).read(), iommufd: IOMMUFDInfo(present: files.exists("/dev/iommu")),
      ioUring: ioUring(), pmem: files.root.isEmpty ? PmemReader.read() : PmemInfo(),
      daxMounts: daxMounts(), hugetlb: hugetlb())
  }

  func kernel() -> KernelInfo {
    var u = utsname()
    uname(&u)
    func field<T>(_ t: T) -> String {
      withUnsafeBytes(of: t) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
    let release = kernelRelease()
    let (source, config) = KernelConfigReader(files: files).read(release: release)
    return KernelInfo(
      release: release, version: field(u.version), machine: field(u.machine),
      cmdline: files.line("/proc/cmdline"), configSource: source, config: config)
  }

  /// The running kernel's release, as the inventory reports it (/proc/sys/kernel/osrelease, else
  /// uname): what `daxpin explain` judges lines against, without reading anything else.
  public func kernelRelease() -> String {
    if let release = files.line("/proc/sys/kernel/osrelease") { return release }
    var u = utsname()
    uname(&u)
    return withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
  }

  func privileges() -> Privileges {
    var soft = UInt64.max
    var hard = UInt64.max
    _ = cvfio_memlock_limit(&soft, &hard)
    func bytes(_ v: UInt64) -> UInt64? { v == .max ? nil : v }
    return Privileges(
      uid: files.root.isEmpty ? getuid() : Self.uid(status: files.read("/proc/self/status") ?? ""),
      capIPCLock: Self.hasCapability(14, status: files.read("/proc/self/status") ?? ""),
      memlockSoftBytes: bytes(soft), memlockHardBytes: bytes(hard))
  }

  /// Bit `cap` of CapEff in /proc/self/status (CAP_IPC_LOCK is 14).
  static func hasCapability(_ cap: Int, status: String) -> Bool {
    guard let mask = ProcStatus.field("CapEff", in: status).flatMap({ UInt64($0, radix: 16) }) else { return false }
    return mask & (1 << UInt64(cap)) != 0
  }

  static func uid(status: String) -> UInt32 {
    ProcStatus.field("Uid", in: status).flatMap { UInt32($0) } ?? 0
  }

  func ioUring() -> IOUringInfo {
    let sysctl = files.int("/proc/sys/kernel/io_uring_disabled")
    var params = io_uring_params()
    switch valueOrErrno({ cvfio_io_uring_setup(1, &params) }) {
    case .success(let fd):
      system_close(fd)
      return IOUringInfo(available: true, disabledSysctl: sysctl)
    case .failure(let e):
      return IOUringInfo(available: false, disabledSysctl: sysctl, setupErrno: e.name)
    }
  }

  func daxMounts() -> [DaxMount] {
    MountInfo.parse(files.read("/proc/self/mountinfo") ?? "").compactMap { m in
      guard let option = m.daxOption else { return nil }
      let dax = (try? system_statx(files.path(m.mountPoint)).get())?.dax
      return DaxMount(mountPoint: m.mountPoint, source: m.source, fstype: m.fstype, daxOption: option, statxDax: dax)
    }
  }

  func hugetlb() -> [HugetlbPool] {
    files.list("/sys/kernel/mm/hugepages").compactMap { dir in
      guard dir.hasPrefix("hugepages-"), dir.hasSuffix("kB"),
        let kb = Int(dir.dropFirst("hugepages-".count).dropLast(2))
      else { return nil }
      let base = "/sys/kernel/mm/hugepages/\(dir)"
      return HugetlbPool(pageSizeKB: kb, total: files.int("\(base)/nr_hugepages") ?? 0, free: files.int("\(base)/free_hugepages") ?? 0)
    }.sorted { $0.pageSizeKB < $1.pageSizeKB }
  }
}
