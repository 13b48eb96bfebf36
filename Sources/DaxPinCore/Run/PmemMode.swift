/// How the lab gives a guest persistent memory. Each mode ends in the same three namespaces
/// (fsdax for ext4, fsdax for xfs, devdax: `LabLayout.namespaces`); they differ in the device
/// the kernel finds and the driver that puts it on the NVDIMM bus (libnvdimm).
public enum PmemMode: String, CaseIterable, Sendable, Codable {
  /// Legacy `memmap=size!offset` regions (nd_e820): one label-less namespace per region.
  case memmap
  /// QEMU NVDIMMs (`nvdimm=on`, memory-backend-file, label area): ACPI NFIT, labels, namespaces.
  case nvdimm
  /// QEMU `virtio-pmem-pci` devices backed by host files: virtio_pmem registers one label-less
  /// region per device on a `virtio-pmem` bus, with an asynchronous flush (no MAP_SYNC).
  case virtioPmem = "virtio-pmem"
  /// A QEMU `cxl-type3` persistent memory device behind a CXL host bridge (pxb-cxl) and root port,
  /// in a CXL fixed memory window: the guest makes a region with `cxl create-region` (cxl_acpi,
  /// cxl_pci, cxl_mem, cxl_pmem), which cxl_pmem puts on the NVDIMM bus with a label area.
  case cxl

  /// The NVDIMM bus provider the guest's kernel names for this mode (`ndctl list -B`).
  public var busProvider: String {
    switch self {
    case .memmap: "e820"
    case .nvdimm: "ACPI.NFIT"
    case .virtioPmem: "virtio-pmem"
    case .cxl: "CXL"
    }
  }
}
