using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using WorkspaceStorage.Api.Errors;
using WorkspaceStorage.Api.Files;
using WorkspaceStorage.Api.Hosting;

namespace WorkspaceStorage.Api.Json;

/// <summary>
/// The JSON the API writes and reads at run time, source-generated (no reflection, so the same under the JIT and Native
/// AOT): its answer records, and the plain values the s3-storage functions answer with and take as arguments —
/// dictionaries, lists, strings, numbers and booleans — which are serialised by their run-time type, so every type one
/// of them can hold is listed here. Web defaults, as ASP.NET Core's own JSON options.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(FileMessage))]
[JsonSerializable(typeof(DirectoryListing))]
[JsonSerializable(typeof(HealthAnswer))]
[JsonSerializable(typeof(JsonElement))]
// The plain values (S3Storage: function answers and schemas; HyphaRpc: decoded msgpack arguments).
[JsonSerializable(typeof(object))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(ulong))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(byte[]))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(object[]))]
[JsonSerializable(typeof(List<object>))]
[JsonSerializable(typeof(Dictionary<string, object>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(List<Dictionary<string, object>>))]
internal sealed partial class ApiJsonContext : JsonSerializerContext;

/// <summary>Registers <see cref="ApiJsonContext"/> as the contract of ASP.NET Core's JSON (typed results, minimal-API binding, OpenAPI).</summary>
internal static class ApiJsonRegistration
{
    public static IServiceCollection AddApiJson(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(o =>
        {
            // The JIT build would otherwise fall back to reflection for a type missing here, and only the Native AOT
            // build would fail on it: without the fallback, the tests (on the JIT) meet the contract the binary has.
            var chain = o.SerializerOptions.TypeInfoResolverChain;
            for (var i = chain.Count - 1; i >= 0; i--)
            {
                if (chain[i] is DefaultJsonTypeInfoResolver)
                {
                    chain.RemoveAt(i);
                }
            }

            chain.Insert(0, ApiJsonContext.Default);
        });
}
