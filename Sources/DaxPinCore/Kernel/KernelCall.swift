/// Every requirement of the `Kernel` seam, by name: what fault injection fails, what a recorded
/// trace lists. Shared by `RecordingKernel`, the fake's tests and the real kernel's tests.
public enum KernelCall: String, CaseIterable, Sendable, Hashable {
  case open, openDirectory, close, makeDirectory, unlink, entries, lock, memfdCreate, truncate, allocate
  case status, statusOfFD, filesystem, setDAXFlag, characterDevice
  case map, unmap, protect, fault, vma, pinAccounting, advise, memoryAvailable
  case vfioAPIVersion, vfioCheckExtension, vfioGroupStatus, vfioGroupSetContainer, vfioGroupUnsetContainer
  case vfioGroupGetDeviceFD, vfioSetIOMMU, vfioIOMMUInfo, vfioMapDMA, vfioUnmapDMA
  case vfioDeviceBindIOMMUFD, vfioDeviceAttachIOMMUFDPT, vfioDeviceDetachIOMMUFDPT
  case iommufdAllocIOAS, iommufdIOVARanges, iommufdMap, iommufdMapFile, iommufdUnmap, iommufdDestroy
  case ioUringSetup, ioUringRegisterBuffers, ioUringUnregisterBuffers
  case rdmaOpen, rdmaRegisterMR, rdmaDeregisterMR, rdmaClose, xdpSocket, xdpRegisterUMEM
  case bindMemory, pageFrames, frameLocations, truncateUnderHeldPages, releaseHeldPages
  case currentProcess, processStartTime, pendingSignal, raise

  /// Calls that release what the probe holds (close, munmap, unlinkat, unset, detach, destroy,
  /// unregister, unmap DMA) or only read the process's own state: they cannot fail on Linux for
  /// valid arguments, or their failure is reported, not acted on; fault injection skips them.
  public var releasesOrObserves: Bool {
    switch self {
    case .close, .unmap, .unlink, .vfioGroupUnsetContainer, .vfioUnmapDMA, .vfioDeviceDetachIOMMUFDPT, .iommufdUnmap,
      .iommufdDestroy, .ioUringUnregisterBuffers, .rdmaDeregisterMR, .rdmaClose, .releaseHeldPages, .pinAccounting, .memoryAvailable, .pageFrames, .frameLocations, .currentProcess, .pendingSignal, .raise:
      true
    default: false
    }
  }

  /// The errnos a real kernel can return from this call, for fault-injection walks.
  public var errnos: [Errno] {
    switch self {
    case .open: [.noSuchFileOrDirectory, .permissionDenied, .resourceBusy, .tooManyOpenFiles, .fileExists]
    case .openDirectory: [.noSuchFileOrDirectory, .notDirectory, .tooManySymbolicLinkLevels, .tooManyOpenFiles]
    case .makeDirectory: [.permissionDenied, .noSpace, .readOnlyFileSystem, .fileExists]
    case .entries: [.noMemory, .ioError]
    case .lock: [.noLocks, .wouldBlock]
    case .memfdCreate: [.tooManyOpenFiles, .noMemory]
    case .truncate, .allocate: [.ioError, .noSpace, .fileTooLarge]
    case .status, .statusOfFD, .filesystem: [.noSuchFileOrDirectory, .permissionDenied, .ioError]
    case .setDAXFlag: [.inappropriateIOCTLForDevice, .notSupported, .permissionDenied]
    case .characterDevice: [.noSuchFileOrDirectory, .permissionDenied]
    case .map: [.noMemory, .invalidArgument, .permissionDenied]
    case .protect: [.noMemory, .invalidArgument]
    case .advise: [.invalidArgument, .noMemory]
    case .fault: [.badAddress]
    case .vma: [.noSuchFileOrDirectory, .noMemory, .tooManyOpenFiles]
    case .vfioAPIVersion, .vfioCheckExtension, .vfioGroupStatus, .vfioIOMMUInfo: [.inappropriateIOCTLForDevice, .invalidArgument]
    case .vfioGroupSetContainer: [.notPermitted, .resourceBusy, .invalidArgument]
    case .vfioSetIOMMU: [.resourceBusy, .invalidArgument, .operationNotSupportedByDevice]
    case .vfioGroupGetDeviceFD: [.invalidArgument, .resourceBusy, .noSuchFileOrDirectory]
    case .vfioMapDMA: [.invalidArgument, .fileExists, .noSpace, .noMemory, .badAddress, .notSupported]
    case .ioUringSetup: [.noMemory, .notPermitted, .tooManyOpenFiles]
    case .ioUringRegisterBuffers: [.noMemory, .badAddress, .notSupported, .resourceBusy, .invalidArgument]
    case .vfioDeviceBindIOMMUFD, .vfioDeviceAttachIOMMUFDPT, .iommufdAllocIOAS, .iommufdIOVARanges: [.invalidArgument, .resourceBusy]
    case .iommufdMap, .iommufdMapFile: [.invalidArgument, .noMemory, .badAddress, .notSupported]
    case .processStartTime: [.noSuchProcess]
    case .rdmaOpen: [.libraryNotAccessible, .operationNotSupportedByDevice, .permissionDenied, .noMemory]
    case .rdmaRegisterMR: [.noMemory, .badAddress, .notSupported, .invalidArgument, .permissionDenied]
    case .xdpSocket: [.addressFamilyNotSupported, .notPermitted, .tooManyOpenFiles]
    case .xdpRegisterUMEM: [.noMemory, .badAddress, .notSupported, .invalidArgument, .resourceBusy]
    case .bindMemory: [.invalidArgument, .notPermitted]
    case .truncateUnderHeldPages: [.tooManyOpenFiles, .badAddress, .noMemory]
    default: []
    }
  }
}

import SystemPackage

extension Errno {
  /// `ELIBACC`: a shared library the call needs (libibverbs) cannot be loaded.
  public static var libraryNotAccessible: Errno { Errno(rawValue: 79) }
}
