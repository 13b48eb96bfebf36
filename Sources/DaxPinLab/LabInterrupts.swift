import Dispatch
import Glibc

/// SIGINT, SIGTERM and SIGHUP during `daxpin lab`: the guests' QEMUs (and any apt-get or make)
/// lead process groups of their own, so a signal to daxpin alone would leave them running. The
/// lab stops them, removes its scratch directories, and then ends by the signal.
public enum LabInterrupts {
  /// A handle that stops watching the signals.
  public final class Watch: @unchecked Sendable {
    let sources: [DispatchSourceSignal]
    init(_ sources: [DispatchSourceSignal]) { self.sources = sources }
    public func cancel() { sources.forEach { $0.cancel() } }
  }

  /// Watches the signals; `say` gets one line when one arrives.
  public static func stopChildrenOnSignal(say: @escaping @Sendable (String) -> Void) -> Watch {
    Watch(
      ([SIGINT, SIGTERM, SIGHUP] as [Int32]).map { sig -> DispatchSourceSignal in
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler {
          let n = HostProcess.abandon()
          say("\nlab: interrupted: stopped \(n) child process\(n == 1 ? "" : "es") and removed the scratch directories")
          signal(sig, SIG_DFL)
          var set = sigset_t()
          sigemptyset(&set)
          sigaddset(&set, sig)
          pthread_sigmask(SIG_UNBLOCK, &set, nil)
          raise(sig)
          Glibc.exit(128 + sig)
        }
        source.resume()
        return source
      })
  }
}
