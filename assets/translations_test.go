package assets

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"fyne.io/fyne/v2/lang"
)

// sourceDirs hold the code whose user-visible strings must be translated.
var sourceDirs = []string{"../ui", "../app"}

// visibleCalls are functions and methods whose string arguments reach the
// screen; a literal passed to one of them must go through lang.L instead.
var visibleCalls = map[string]bool{
	"NewLabel": true, "NewLabelWithStyle": true, "NewButton": true, "NewButtonWithIcon": true,
	"NewCheck": true, "SetText": true, "SetPlaceHolder": true, "NewFormItem": true,
	"NewMenuItem": true, "NewNotification": true, "ShowForm": true, "ShowConfirm": true,
	"ShowInformation": true, "NewHyperlink": true, "NewCard": true, "NewTabItem": true,
	"NewTabItemWithIcon": true, "NewRadioGroup": true, "NewSelect": true,
}

// untranslated are literals that read the same in every language.
var untranslated = map[string]bool{"Parley": true}

func readKeys(t *testing.T) map[string]map[string]string {
	t.Helper()
	keys := map[string]map[string]string{}
	for _, l := range Languages {
		m, err := TranslationKeys(l)
		if err != nil {
			t.Fatal(err)
		}
		keys[l] = m
	}
	return keys
}

// TestTranslationKeySetsMatch fails when a key is in one language's bundle
// and not the other's, when a value is empty, or when a template field
// ({{.Name}}) is not in both.
func TestTranslationKeySetsMatch(t *testing.T) {
	keys := readKeys(t)
	field := regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)
	fields := func(s string) []string {
		var out []string
		for _, m := range field.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return out
	}
	for _, a := range Languages {
		for _, b := range Languages {
			for k := range keys[a] {
				if _, ok := keys[b][k]; !ok {
					t.Errorf("key %q is in %s and not in %s", k, a, b)
				}
			}
		}
		for k, v := range keys[a] {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s[%q] is empty", a, k)
			}
			if got, want := fields(v), fields(k); !slices.Equal(got, want) {
				t.Errorf("%s[%q] has template fields %v, want %v", a, k, got, want)
			}
		}
	}
	for k, v := range keys["en"] {
		if k != v {
			t.Errorf("en[%q] = %q: the English bundle must map each key to itself", k, v)
		}
	}
}

// TestCodeStringsTranslated parses ui/ and app/ and fails for a lang.L call
// whose key is in no bundle or is not a literal (or a string constant of
// the file), for a literal passed straight to a widget, and for a bundle
// key no code uses.
func TestCodeStringsTranslated(t *testing.T) {
	keys := readKeys(t)
	var files []string
	for _, dir := range sourceDirs {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			if !strings.HasSuffix(f, "_test.go") {
				files = append(files, f)
			}
		}
	}
	if len(files) < 10 {
		t.Fatalf("found %d source files in %v: wrong directory?", len(files), sourceDirs)
	}
	used := map[string]bool{}
	fset := token.NewFileSet()
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		// String constants of the file, for lang.L(someConst).
		consts := map[string]string{}
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, sp := range g.Specs {
					vs := sp.(*ast.ValueSpec)
					for i, v := range vs.Values {
						if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING && i < len(vs.Names) {
							consts[vs.Names[i].Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pos := fset.Position(call.Pos())
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == "lang" && len(call.Args) > 0 {
				var key string
				switch a := call.Args[0].(type) {
				case *ast.BasicLit:
					key, _ = strconv.Unquote(a.Value)
				case *ast.Ident:
					k, ok := consts[a.Name]
					if !ok {
						t.Errorf("%s: lang.%s(%s): not a string constant of this file", pos, sel.Sel.Name, a.Name)
						return true
					}
					key = k
				default:
					t.Errorf("%s: lang.%s with a key that is not a string literal or constant", pos, sel.Sel.Name)
					return true
				}
				used[key] = true
				for _, l := range Languages {
					if _, ok := keys[l][key]; !ok {
						t.Errorf("%s: %q has no %s translation", pos, key, l)
					}
				}
				return true
			}
			if !visibleCalls[sel.Sel.Name] {
				return true
			}
			for _, a := range call.Args {
				lit, ok := a.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				s, _ := strconv.Unquote(lit.Value)
				if strings.IndexFunc(s, unicode.IsLetter) >= 0 && !untranslated[s] {
					t.Errorf("%s: %s(%q): user-visible text must go through lang.L", pos, sel.Sel.Name, s)
				}
			}
			return true
		})
	}
	if len(used) < 50 {
		t.Fatalf("found %d lang keys, want the ui's (at least 50): is the parser looking at the code?", len(used))
	}
	for k := range keys["en"] {
		if !used[k] {
			t.Errorf("key %q is in the bundles but no code uses it", k)
		}
	}
}

func TestLanguageOf(t *testing.T) {
	cases := []struct{ in, want string }{
		{"zh", "zh"}, {"zh-Hans", "zh"}, {"zh-CN", "zh"}, {"zh_CN.UTF-8", "zh"},
		{"zh_Hans_CN", "zh"}, {"ZH_cn", "zh"}, {"en", "en"}, {"en_US.UTF-8", "en"},
		{"de_DE", ""}, {"C", ""}, {"", ""},
	}
	for _, c := range cases {
		if got := LanguageOf(c.in); got != c.want {
			t.Errorf("LanguageOf(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestLoadTranslations loads the bundles under system locales and settings
// in their usual spellings and checks the string Fyne then returns.
func TestLoadTranslations(t *testing.T) {
	const key = "Hold to talk"
	zh := readKeys(t)["zh"][key]
	cases := []struct {
		name    string
		env     map[string]string // LC_ALL, LC_MESSAGES, LANG, LANGUAGE
		setting string
		want    string
	}{
		{"system zh_CN.UTF-8", map[string]string{"LANG": "zh_CN.UTF-8"}, "", zh},
		{"system en, setting zh", map[string]string{"LANG": "en_US.UTF-8"}, "zh", zh},
		{"system en, back to system", map[string]string{"LANG": "en_US.UTF-8"}, "", key},
		{"system zh-CN, setting en", map[string]string{"LANG": "zh_CN.UTF-8"}, "en", key},
		{"LANGUAGE zh-Hans", map[string]string{"LANG": "en_US.UTF-8", "LANGUAGE": "zh-Hans"}, "", zh},
		{"LC_ALL=C, setting zh-Hans", map[string]string{"LC_ALL": "C"}, "zh-Hans", zh},
		{"LC_ALL=C, setting zh_CN.UTF-8", map[string]string{"LC_ALL": "C"}, "zh_CN.UTF-8", zh},
		{"unset locale", map[string]string{}, "", key},
		{"system de, no setting", map[string]string{"LANG": "de_DE.UTF-8"}, "", key},
		{"system de, setting zh-CN", map[string]string{"LANG": "de_DE.UTF-8"}, "zh-CN", zh},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"} {
				t.Setenv(v, c.env[v])
			}
			code, err := LoadTranslations(c.setting)
			if err != nil {
				t.Fatalf("LoadTranslations(%q): %v", c.setting, err)
			}
			if got := lang.L(key); got != c.want {
				t.Errorf("lang.L(%q) = %q (active %q), want %q", key, got, code, c.want)
			}
		})
	}
	t.Setenv("LANG", "en_US.UTF-8")
	if _, err := LoadTranslations("en"); err != nil {
		t.Fatal(err)
	}
}
