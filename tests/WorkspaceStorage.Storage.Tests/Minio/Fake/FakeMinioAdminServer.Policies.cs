using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using WorkspaceStorage.Storage.Minio;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>
/// Canned policies and their mappings: add/remove/info/list-canned-policies, idp/builtin/policy/attach|detach,
/// set-user-or-group-policy (servers before 2023-01), idp/builtin/policy-entities.
/// </summary>
internal sealed partial class FakeMinioAdminServer
{
    private ScriptedResponse AddCannedPolicy(RecordedRequest request)
    {
        var text = Encoding.UTF8.GetString(request.Body);
        JsonNode? document;
        try
        {
            document = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return ScriptedResponse.Error(400, "XMinioMalformedIAMPolicy");
        }

        if (request.Body.Length > 20 * 1024 || document?["Version"] is null)
        {
            return ScriptedResponse.Error(400, "XMinioMalformedIAMPolicy");
        }

        Policies[Query(request, "name")] = text;
        return ScriptedResponse.Empty(200);
    }

    private ScriptedResponse RemoveCannedPolicy(RecordedRequest request)
    {
        var name = Query(request, "name");
        if (!Policies.ContainsKey(name))
        {
            return ScriptedResponse.Error(404, "XMinioAdminNoSuchPolicy");
        }

        if (Users.Values.Any(u => u.Policies.Contains(name)) || Groups.Values.Any(g => g.Policies.Contains(name)))
        {
            return ScriptedResponse.Error(400, MinioAdminException.PolicyInUse);
        }

        Policies.Remove(name);
        return ScriptedResponse.Empty(200);
    }

    /// <summary>With v=2 the document wrapped with its name and dates; without, the bare document (servers before 2022).</summary>
    private ScriptedResponse InfoCannedPolicy(RecordedRequest request)
    {
        var name = Query(request, "name");
        if (!Policies.TryGetValue(name, out var document))
        {
            return ScriptedResponse.Error(404, "XMinioAdminNoSuchPolicy");
        }

        // MinIO answers its own serialisation of the parsed policy, not the bytes it was given.
        var reserialised = JsonNode.Parse(document)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        return Query(request, "v") == "2"
            ? ScriptedResponse.Json($$"""{"PolicyName":{{JsonSerializer.Serialize(name)}},"Policy":{{reserialised}},"CreateDate":"2025-01-01T00:00:00Z","UpdateDate":"2025-01-01T00:00:00Z"}""")
            : ScriptedResponse.Json(reserialised);
    }

    private ScriptedResponse ListCannedPolicies()
    {
        var all = new JsonObject();
        foreach (var (name, document) in Policies.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            all[name] = JsonNode.Parse(document);
        }

        return ScriptedResponse.Json(all.ToJsonString());
    }

    /// <summary>One user or one group; attaching what is attached (or detaching what is not) is 400 already-applied.</summary>
    private ScriptedResponse AttachOrDetach(RecordedRequest request)
    {
        var attach = request.Command.EndsWith("attach", StringComparison.Ordinal);
        var body = Decrypt(request);
        var policies = body["policies"]?.AsArray().Select(p => p!.GetValue<string>()).ToList() ?? [];
        var (userName, groupName) = (body["user"]?.GetValue<string>() ?? "", body["group"]?.GetValue<string>() ?? "");
        if (policies.Count == 0 || (userName.Length > 0) == (groupName.Length > 0))
        {
            return ScriptedResponse.Error(400, "XMinioAdminInvalidArgument");
        }

        var (mapped, missing) = MappingOf(userName, groupName);
        if (mapped is null)
        {
            return missing!;
        }

        if (policies.Any(p => !Policies.ContainsKey(p)))
        {
            return ScriptedResponse.Error(404, "XMinioAdminNoSuchPolicy");
        }

        var changed = attach ? policies.Where(p => !mapped.Contains(p)).Distinct().ToList() : policies.Where(mapped.Contains).ToList();
        if (changed.Count == 0)
        {
            return ScriptedResponse.Error(400, MinioAdminException.PolicyChangeAlreadyApplied);
        }

        foreach (var policy in changed)
        {
            if (attach)
            {
                mapped.Add(policy);
            }
            else
            {
                mapped.Remove(policy);
            }
        }

        return Sealed(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            [attach ? "policiesAttached" : "policiesDetached"] = changed,
            [userName.Length > 0 ? "user" : "group"] = userName.Length > 0 ? userName : groupName,
            ["updatedAt"] = DateTimeOffset.UtcNow,
        }));
    }

    /// <summary>Replaces the mapping (an empty policyName clears it).</summary>
    private ScriptedResponse SetUserOrGroupPolicy(RecordedRequest request)
    {
        var entity = Query(request, "userOrGroup");
        var (mapped, missing) = Query(request, "isGroup") == "true" ? MappingOf("", entity) : MappingOf(entity, "");
        if (mapped is null)
        {
            return missing!;
        }

        var wanted = Query(request, "policyName").Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (wanted.Any(p => !Policies.ContainsKey(p)))
        {
            return ScriptedResponse.Error(404, "XMinioAdminNoSuchPolicy");
        }

        mapped.Clear();
        mapped.AddRange(wanted);
        return ScriptedResponse.Empty(200);
    }

    private ScriptedResponse PolicyEntities(RecordedRequest request)
    {
        var users = QueryAll(request, "user").Where(Users.ContainsKey);
        var groups = QueryAll(request, "group").Where(Groups.ContainsKey);
        var policies = QueryAll(request, "policy").Where(Policies.ContainsKey);
        return Sealed(JsonSerializer.Serialize(new
        {
            timestamp = DateTimeOffset.UtcNow,
            userMappings = users.Select(u => new { user = u, policies = Users[u].Policies }),
            groupMappings = groups.Select(g => new { group = g, policies = Groups[g].Policies }),
            policyMappings = policies.Select(p => new
            {
                policy = p,
                users = Users.Where(u => u.Value.Policies.Contains(p)).Select(u => u.Key),
                groups = Groups.Where(g => g.Value.Policies.Contains(p)).Select(g => g.Key),
            }),
        }));
    }

    /// <summary>The policy list of the named user or group, or the 404 MinIO answers when it does not exist.</summary>
    private (List<string>? Mapped, ScriptedResponse? Missing) MappingOf(string user, string group) =>
        user.Length > 0
            ? Users.TryGetValue(user, out var u) ? (u.Policies, null) : (null, ScriptedResponse.Error(404, "XMinioAdminNoSuchUser"))
            : Groups.TryGetValue(group, out var g) ? (g.Policies, null) : (null, ScriptedResponse.Error(404, "XMinioAdminNoSuchGroup"));
}
