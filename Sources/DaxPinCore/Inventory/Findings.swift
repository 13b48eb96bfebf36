/// One thing the inventory found missing or worth knowing, with what would change it.
public struct Finding: Codable, Sendable, Equatable {
  public enum Level: String, Codable, Sendable {
    /// Something a probe needs is absent.
    case absent
    /// Present but worth a look (a setting that changes results).
    case note
  }
  public var level: Level
  /// Short subject (`VFIO`, `pmem`, `kernel config`).
  public var subject: String
  /// What is absent or notable.
  public var message: String
  /// What would enable it.
  public var hint: String?

  public init(_ level: Level, _ subject: String, _ message: String, hint: String? = nil) {
    self.level = level
    self.subject = subject
    self.message = message
    self.hint = hint
  }
}

extension Inventory {
  /// What is absent on this host and how to get it, derived from the inventory alone.
  public var findings: [Finding] {
    var out: [Finding] = []
    let labHint = "or run `daxpin lab`, which boots real kernels with emulated pmem and a virtual IOMMU"
    if !privileges.isRoot {
      out.append(
        Finding(
          .absent, "privileges", "not running as root (uid \(privileges.uid)): VFIO, /dev/dax and pin probes need root",
          hint: "run daxpin as root"))
    }
    if kernel.config == nil {
      out.append(
        Finding(
          .absent, "kernel config",
          "kernel config unreadable: neither /proc/config.gz nor /boot/config-\(kernel.release) exists",
          hint: "enable CONFIG_IKCONFIG_PROC or install the kernel's config in /boot"))
    }
    if iommu.groups.isEmpty {
      let cmdline = kernel.cmdline ?? ""
      let hint =
        cmdline.contains("intel_iommu=on") || cmdline.contains("amd_iommu")
        ? "the IOMMU is requested on the command line but no group exists: check the firmware (VT-d / AMD-Vi) and dmesg"
        : "enable VT-d / AMD-Vi in firmware and boot with intel_iommu=on (Intel) or amd_iommu=on (AMD), \(labHint)"
      out.append(Finding(.absent, "IOMMU", "no IOMMU groups in /sys/kernel/iommu_groups", hint: hint))
    }
    if !vfio.container {
      let hint: String
      switch kernel.isEnabled("CONFIG_VFIO") {
      case .some(false): hint = "this kernel is built without CONFIG_VFIO; use a kernel with VFIO, \(labHint)"
      default: hint = "modprobe vfio-pci and bind a spare device to vfio-pci (driverctl set-override), \(labHint)"
      }
      out.append(Finding(.absent, "VFIO", "no /dev/vfio/vfio container node", hint: hint))
    } else if vfio.groups.isEmpty {
      out.append(
        Finding(
          .absent, "VFIO", "no VFIO group under /dev/vfio: no device is bound to vfio-pci",
          hint: "bind a spare device: echo vfio-pci > /sys/bus/pci/devices/<bdf>/driver_override, then reprobe"))
    }
    if vfio.noiommuMode == true {
      out.append(
        Finding(
          .note, "VFIO", "vfio noiommu mode is on: noiommu groups cannot pin (results are not-exercised)",
          hint: "boot with the IOMMU enabled and set enable_unsafe_noiommu_mode=0"))
    }
    if !iommufd.present {
      let hint: String
      switch kernel.isEnabled("CONFIG_IOMMUFD") {
      case .some(false):
        hint = "this kernel is built without CONFIG_IOMMUFD (Debian's are); `daxpin lab --kernel source:<version>` builds one that has it"
      default: hint = "modprobe iommufd"
      }
      out.append(Finding(.absent, "iommufd", "no /dev/iommu", hint: hint))
    }
    if !ioUring.available {
      out.append(
        Finding(
          .absent, "io_uring", "io_uring_setup failed (\(ioUring.setupErrno ?? "unknown"))",
          hint: ioUring.disabledSysctl.map { $0 > 0 ? "sysctl kernel.io_uring_disabled=0" : "a kernel with CONFIG_IO_URING" }
            ?? "a kernel with CONFIG_IO_URING"))
    }
    if let error = pmem.error {
      out.append(Finding(.absent, "pmem", "libndctl/libdaxctl could not be asked: \(error)", hint: nil))
    } else if pmem.buses.isEmpty {
      out.append(
        Finding(
          .absent, "pmem", "no NVDIMM bus: this host has no persistent memory",
          hint:
            "emulate it with memmap=4G!12G on the kernel command line (CONFIG_X86_PMEM_LEGACY), \(labHint)"))
    } else if pmem.namespaces.isEmpty {
      out.append(
        Finding(
          .absent, "pmem", "NVDIMM regions exist but hold no namespace",
          hint: "create one: ndctl create-namespace -m fsdax (or -m devdax)"))
    }
    if !pmem.namespaces.contains(where: { $0.mode == "devdax" }) && !pmem.daxDevices.contains(where: { $0.mode == "devdax" }) {
      out.append(
        Finding(
          .absent, "devdax", "no device-DAX character device (/dev/daxX.Y)",
          hint: "ndctl create-namespace -m devdax -e <namespace> reconfigures one (it erases it)"))
    }
    if daxMounts.isEmpty {
      out.append(
        Finding(
          .absent, "fsdax", "no filesystem mounted with -o dax",
          hint: "mkfs.ext4 or mkfs.xfs -m reflink=0 on /dev/pmemN, then mount -o dax"))
    }
    for m in daxMounts where m.daxOption == "dax=inode" {
      out.append(
        Finding(
          .note, "fsdax", "\(m.mountPoint) is mounted dax=inode: only files with the per-file DAX flag use DAX",
          hint: "set the flag on the directory daxpin uses (xfs_io -c 'chattr +x' <dir>), or mount with dax=always"))
    }
    if !hugetlb.contains(where: { $0.pageSizeKB == 2048 && $0.free > 0 }) {
      out.append(
        Finding(.note, "hugetlb", "no free 2 MiB huge pages: hugetlb-2m probes are skipped", hint: "sysctl vm.nr_hugepages=8"))
    }
    if !privileges.capIPCLock, let soft = privileges.memlockSoftBytes, soft < 64 << 20 {
      out.append(
        Finding(
          .note, "memlock", "RLIMIT_MEMLOCK is \(soft / 1024) KiB and CAP_IPC_LOCK is absent: large pins fail with ENOMEM",
          hint: "ulimit -l unlimited, or run as root"))
    }
    return out
  }
}
