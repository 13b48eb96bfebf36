import SystemPackage

/// `AF_XDP` UMEM registration: a socket per pin, `setsockopt(SOL_XDP, XDP_UMEM_REG)` over the
/// buffer, closed to undo it. `xdp_umem_pin_pages` pins the UMEM with FOLL_WRITE | FOLL_LONGTERM
/// (pin_user_pages, the slow path). It needs no NIC: the UMEM is pinned before any bind.
///
/// The pin is charged to the user's `locked_vm` (and not at all with CAP_IPC_LOCK), never to the
/// process's VmPin, so `pinned_kb` stays 0 for a successful AF_XDP pin.
struct AFXDPSession: PinSession {
  let kernel: any Kernel
  var notExercisedReason: String? { nil }
  /// The UMEM's chunk size: a page, the largest aligned chunk every kernel takes.
  static let chunkSize: UInt32 = 4096

  /// Tells an absent AF_XDP from a forbidden one by the errno of a first socket, closed at once.
  static func open(kernel: any Kernel) throws -> AFXDPSession {
    switch kernel.xdpSocket() {
    case .success(let s):
      kernel.close(s)
      return AFXDPSession(kernel: kernel)
    case .failure(let e):
      throw unavailable(e)
    }
  }

  static func unavailable(_ e: Errno) -> SessionUnavailable {
    switch e {
    case .addressFamilyNotSupported:
      SessionUnavailable(
        outcome: .unsupported, reason: "socket(AF_XDP): EAFNOSUPPORT: this kernel has no AF_XDP sockets", hint: "a kernel with CONFIG_XDP_SOCKETS=y")
    case .notPermitted, .permissionDenied:
      SessionUnavailable(outcome: .unsupported, reason: "socket(AF_XDP): \(e.name): AF_XDP needs CAP_NET_RAW", hint: "run as root")
    case .tooManyOpenFiles, .tooManyOpenFilesInSystem:
      SessionUnavailable(outcome: .resourceLimited, reason: "socket(AF_XDP): \(e.name): no file descriptor left", hint: "raise ulimit -n")
    default:
      SessionUnavailable(outcome: .setupFailed, reason: "socket(AF_XDP): \(e.name)")
    }
  }

  /// A fresh AF_XDP socket (opened here: a socket that cannot be had is the tool's problem, not
  /// the kernel's answer to the pin) with `XDP_UMEM_REG` over the buffer; the undo closes the
  /// socket (xsk_release drops the UMEM and unpins its pages). A socket whose registration
  /// failed is closed at once.
  func ready(_ memory: PreparedMemory, access: Access) -> Result<ReadyPin, PinNotReady> {
    let size = UInt64(memory.mapping.length)
    let (kernel, mapping) = (self.kernel, memory.mapping)
    let request = "XDP_UMEM_REG len=\(hex(size)) chunk_size=\(Self.chunkSize)"
    let held = Held()
    switch kernel.xdpSocket() {
    case .success(let s): held.socket = s
    case .failure(let e): return .failure(PinNotReady(request: request, reason: "socket(AF_XDP): \(e.name)"))
    }
    return .success(
      ReadyPin(
        request: request, size: size,
        pin: {
          if held.socket == nil {
            switch kernel.xdpSocket() {
            case .success(let s): held.socket = s
            case .failure(let e): return .failure(e)
            }
          }
          let result = kernel.xdpRegisterUMEM(held.socket!, mapping, chunkSize: Self.chunkSize)
          if !result.isSuccess {
            kernel.close(held.socket!)
            held.socket = nil
          }
          return result
        },
        unpin: {
          guard let socket = held.socket else { return .success(0) }
          held.socket = nil
          kernel.close(socket)
          return .success(size)
        },
        unpinName: "close(AF_XDP socket)"))
  }

  /// The socket between `XDP_UMEM_REG` and its close.
  private final class Held {
    var socket: FileDescriptor?
  }
}
