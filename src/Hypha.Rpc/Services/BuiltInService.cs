using Hypha.Rpc.Calls;
using Hypha.Rpc.Protocol;

namespace Hypha.Rpc.Services;

/// <summary>
/// The <c>built-in</c> service every Hypha client registers first: <c>ping</c>, <c>get_service</c> (how the
/// workspace manager and callers fetch a service's descriptors) and <c>message_cache</c> (how senders deliver
/// messages over 256 KiB in chunks).
/// </summary>
internal sealed class BuiltInService(ServiceRegistry registry)
{
    public const string Id = "built-in";
    public const string MethodPrefix = "services.built-in.";

    /// <summary>hypha_rpc's API version: 3 and up lets senders deliver chunks with <c>set</c> (indexed) as well as <c>append</c>.</summary>
    public const int ApiVersion = 3;

    private static readonly string[] CacheFunctions = ["create", "append", "set", "process", "remove"];

    public static Dictionary<string, object?> RegistrationInfo(string address, string workspace) => new(StringComparer.Ordinal)
    {
        ["id"] = ServiceRegistry.FullId(address, Id),
        ["name"] = $"Builtin services for {address}",
        ["type"] = "built-in",
        ["description"] = null,
        ["docs"] = null,
        ["app_id"] = "*",
        ["config"] = Config(workspace),
        ["service_schema"] = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["ping"] = Schema("ping", "Answer pong."),
            ["get_service"] = Schema("get_service", "Get one of this client's services."),
        },
    };

    /// <summary>Runs a <c>services.built-in.*</c> call; the value is the answer, errors become rejections.</summary>
    public object? Invoke(IncomingCall call)
    {
        var method = call.Message.Method![MethodPrefix.Length..];
        var (args, kwargs) = Arguments.Split(call.Message);
        object? Arg(string name, int position) => kwargs.TryGetValue(name, out var v) ? v : position < args.Count ? args[position] : null;
        var session = call.Session;
        var sender = call.Message.From ?? "";
        var cache = session.MessageCache;
        switch (method)
        {
            case "ping":
                return "pong";
            case "get_service":
                return GetService(Arg("service_id", 0) as string, call);
            case "message_cache.create":
                Touch(session, Arg("key", 0), Arg("heartbeat", 1));
                cache.Create(sender, Key(Arg("key", 0)), Arg("overwrite", 2) is true);
                return null;
            case "message_cache.append":
                Touch(session, Arg("key", 0), Arg("heartbeat", 2));
                cache.Append(sender, Key(Arg("key", 0)), Bytes(Arg("data", 1)));
                return null;
            case "message_cache.set":
                Touch(session, Arg("key", 0), Arg("heartbeat", 3));
                cache.Set(sender, Key(Arg("key", 0)), Arg("index", 1) as long? ?? throw new MessageCacheException("index must be an integer"), Bytes(Arg("data", 2)));
                return null;
            case "message_cache.process":
                Touch(session, Arg("key", 0), Arg("heartbeat", 1));
                var package = cache.Take(sender, Key(Arg("key", 0)));
                try
                {
                    session.DispatchReassembled(package, call.Context.Raw);
                }
                catch (MalformedFrameException ex)
                {
                    throw new MessageCacheException("the reassembled message is malformed: " + ex.Message);
                }

                return null;
            case "message_cache.remove":
                cache.Remove(sender, Key(Arg("key", 0)));
                return null;
            default:
                throw new HyphaCallException("Exception", $"Method not found: {call.Message.Method} at {session.Address}");
        }
    }

    private Dictionary<string, object?> GetService(string? requested, IncomingCall call)
    {
        if (string.IsNullOrEmpty(requested))
        {
            throw new HyphaCallException("ValueError", "service_id is required");
        }

        var session = call.Session;
        var id = ServiceRegistry.ShortId(requested);
        if (id == Id)
        {
            return Describe(session.Address, session.Info.Workspace);
        }

        if (!registry.TryGet(id, out var service))
        {
            throw new HyphaCallException("KeyError", $"Service not found: {id}");
        }

        ServiceDispatcher.CheckVisibility(service, call);
        return ServiceRegistry.Describe(service, session.Address, session.Info.Workspace);
    }

    private static Dictionary<string, object?> Describe(string address, string workspace)
    {
        var info = RegistrationInfo(address, workspace);
        info["ping"] = ServiceRegistry.Descriptor(address, MethodPrefix + "ping", "ping", "Answer pong.", null);
        info["get_service"] = ServiceRegistry.Descriptor(address, MethodPrefix + "get_service", "get_service", "Get one of this client's services.", null);
        info["message_cache"] = CacheFunctions.ToDictionary(
            f => f,
            f => (object?)ServiceRegistry.Descriptor(address, MethodPrefix + "message_cache." + f, f, $"message_cache.{f}", null),
            StringComparer.Ordinal);
        return info;
    }

    private static Dictionary<string, object?> Config(string workspace) => new(StringComparer.Ordinal)
    {
        ["visibility"] = "public",
        ["require_context"] = true,
        ["workspace"] = workspace,
        ["api_version"] = ApiVersion,
    };

    private static Dictionary<string, object?> Schema(string name, string description) => new(StringComparer.Ordinal)
    {
        ["type"] = "function",
        ["function"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["name"] = name, ["description"] = description },
    };

    /// <summary><c>heartbeat: true</c> means the key is the session of our call that this message answers: it is alive.</summary>
    private static void Touch(HyphaSession session, object? key, object? heartbeat)
    {
        if (heartbeat is true && key is string k)
        {
            session.TouchPendingCall(k);
        }
    }

    private static string Key(object? key) => key as string ?? throw new MessageCacheException("key must be a string");

    private static byte[] Bytes(object? data) => data as byte[] ?? throw new MessageCacheException("data must be bytes");
}
