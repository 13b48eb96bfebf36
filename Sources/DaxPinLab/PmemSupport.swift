import DaxPinCore

/// Whether a kernel can give its guest a pmem mode at all, read from the kernel's build
/// configuration before anything boots: a kernel without the mode's drivers gets one line saying
/// which option it lacks, and no run (`LabRun.notSupported`), never a boot that hangs or fails
/// somewhere in the guest.
public enum PmemSupport {
  /// The options `mode` needs (built in or a module; `CONFIG_CXL_REGION` is a bool), and what
  /// each brings.
  public static func requirements(_ mode: PmemMode) -> [(option: String, what: String)] {
    let nvdimm = [("CONFIG_LIBNVDIMM", "the NVDIMM bus"), ("CONFIG_BLK_DEV_PMEM", "pmem block devices")]
    switch mode {
    case .memmap: return nvdimm + [("CONFIG_X86_PMEM_LEGACY", "memmap= pmem (nd_e820)")]
    case .nvdimm: return nvdimm + [("CONFIG_ACPI_NFIT", "ACPI NFIT NVDIMMs")]
    case .virtioPmem: return nvdimm + [("CONFIG_VIRTIO_PMEM", "the virtio-pmem driver")]
    case .cxl:
      return nvdimm + [
        ("CONFIG_CXL_BUS", "the CXL bus"), ("CONFIG_CXL_ACPI", "the CXL host bridge and fixed memory window (cxl_acpi)"),
        ("CONFIG_CXL_PCI", "CXL type-3 devices (cxl_pci)"), ("CONFIG_CXL_MEM", "CXL memdevs (cxl_mem)"),
        ("CONFIG_CXL_PMEM", "CXL persistent memory on the NVDIMM bus (cxl_pmem)"),
        ("CONFIG_CXL_REGION", "CXL regions (cxl create-region; Linux 6.0 and later)"),
      ]
    }
  }

  /// Why `mode` cannot run on the kernel `release` with this configuration; nil when it can or
  /// when the configuration is unknown (then the boot finds out).
  public static func missing(_ mode: PmemMode, release: String, config: [String: String]?) -> String? {
    guard let config else { return nil }
    let absent = requirements(mode).filter { config[$0.option] != "y" && config[$0.option] != "m" }
    guard let first = absent.first else { return nil }
    let names = absent.map(\.option)
    return "kernel \(release) lacks \(first.what): \(names.joined(separator: ", ")) not set"
  }

  /// `CONFIG_X=y` lines of a kernel's `.config` as ["CONFIG_X": "y"]; `# CONFIG_X is not set` as "n".
  public static func parseConfig(_ text: String) -> [String: String] {
    var out: [String: String] = [:]
    for line in text.split(separator: "\n") {
      if line.hasPrefix("CONFIG_"), let eq = line.firstIndex(of: "=") {
        out[String(line[..<eq])] = String(line[line.index(after: eq)...])
      } else if line.hasPrefix("# CONFIG_"), line.hasSuffix(" is not set") {
        out[String(line.dropFirst(2).dropLast(" is not set".count))] = "n"
      }
    }
    return out
  }
}
