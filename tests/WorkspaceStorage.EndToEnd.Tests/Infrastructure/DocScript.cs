using System.Text.RegularExpressions;

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>
/// The steps of a Markdown page's numbered sections, in order, as a reader pastes them: each <c>```sh</c> block is a
/// shell step; each <c>```yaml</c> block is a file to save, at the path its first line names (<c># my-overlay/kustomization.yaml</c>).
/// A YAML block that says nowhere to save it is an error: the reader would not know what to do with it either. A
/// block after the comment <c>&lt;!-- install-test: skip (why) --&gt;</c> (invisible on the rendered page) is for
/// another place than the cluster, such as the storage server's own shell, or a variant of the path taken: it is listed
/// in <see cref="Skipped"/> with its reason, not run.
/// </summary>
internal sealed partial class DocScript
{
    private DocScript(IReadOnlyList<DocStep> steps, IReadOnlyList<DocSkip> skipped)
    {
        Steps = steps;
        Skipped = skipped;
    }

    public IReadOnlyList<DocStep> Steps { get; }

    /// <summary>The blocks marked as not for the cluster, each with its line, reason and text.</summary>
    public IReadOnlyList<DocSkip> Skipped { get; }

    /// <summary>The steps of sections <paramref name="first"/> to <paramref name="last"/> (their <c>## N.</c> headings) of <paramref name="markdown"/>.</summary>
    public static DocScript FromSections(string markdown, int first, int last)
    {
        var steps = new List<DocStep>();
        var skipped = new List<DocSkip>();
        string? skip = null;
        var section = 0;
        string? fence = null;
        var block = new List<string>();
        var line = 0;
        var blockStart = 0;
        foreach (var text in markdown.Split('\n'))
        {
            line++;
            if (fence is null)
            {
                if (text.StartsWith("## ", StringComparison.Ordinal))
                {
                    // An unnumbered part (Operations, …) belongs to no section.
                    section = SectionHeading().Match(text) is { Success: true } heading
                        ? int.Parse(heading.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)
                        : 0;
                }
                else if (text.StartsWith("```", StringComparison.Ordinal) && text.Length > 3)
                {
                    fence = text[3..].Trim();
                    block.Clear();
                    blockStart = line;
                    continue;
                }

                // The marker applies to the block right after it.
                skip = SkipMarker().Match(text) is { Success: true } marker ? marker.Groups[1].Value : null;
                continue;
            }

            if (text.TrimEnd() != "```")
            {
                block.Add(text);
                continue;
            }

            if (section >= first && section <= last)
            {
                if (skip is not null)
                {
                    skipped.Add(new DocSkip(blockStart, skip, string.Join('\n', block)));
                }
                else
                {
                    steps.Add(Step(fence, block, section, blockStart));
                }
            }

            fence = null;
            skip = null;
        }

        return new DocScript(steps, skipped);
    }

    private static DocStep Step(string fence, List<string> block, int section, int line)
    {
        var text = string.Join('\n', block) + "\n";
        return fence switch
        {
            "sh" => new DocStep(section, line, text, null),
            "yaml" when SaveAs().Match(block.FirstOrDefault() ?? "") is { Success: true } path => new DocStep(section, line, text, path.Groups[1].Value),
            "yaml" => throw new InvalidOperationException($"the YAML block at line {line} (section {section}) does not say where to save it (a first line '# <path>')"),
            _ => throw new InvalidOperationException($"a ```{fence} block at line {line} (section {section}): the install sections hold only sh and yaml"),
        };
    }

    [GeneratedRegex(@"^## (\d+)\. ")]
    private static partial Regex SectionHeading();

    [GeneratedRegex(@"^<!-- install-test: skip \((.+)\) -->\s*$")]
    private static partial Regex SkipMarker();

    [GeneratedRegex(@"^# ([\w./-]+\.ya?ml)\s*$")]
    private static partial Regex SaveAs();
}

/// <summary>One step: a shell block to run, or (with <see cref="SaveAs"/>) a file to write.</summary>
internal sealed record DocStep(int Section, int Line, string Text, string? SaveAs)
{
    public override string ToString() => $"section {Section}, line {Line}: {(SaveAs is null ? Text.Trim() : $"save {SaveAs}")}";
}

/// <summary>A block the page marks as not for the cluster: where it starts, why, and what it says.</summary>
internal sealed record DocSkip(int Line, string Reason, string Text);
