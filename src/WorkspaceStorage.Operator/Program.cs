using System.Runtime.InteropServices;
using WorkspaceStorage.Operator.Hosting;

// SIGINT (Ctrl-C) and SIGTERM (kubectl delete pod) stop the operator cleanly: queues drain, the Lease is released.
using var stopping = new CancellationTokenSource();
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
return await new OperatorApplication().RunAsync(args, stopping.Token);

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stopping.Cancel();
}
