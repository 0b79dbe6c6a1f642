package main

import (
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionNamesTheCommit(t *testing.T) {
	t.Parallel()
	build := func(settings ...string) *debug.BuildInfo {
		info := &debug.BuildInfo{GoVersion: "go1.26.0"}
		for i := 0; i < len(settings); i += 2 {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return info
	}
	for _, tt := range []struct {
		info *debug.BuildInfo
		want string
	}{
		{build("vcs.revision", "0123abcd", "vcs.time", "2026-01-02T03:04:05Z", "vcs.modified", "false"), "shop 0123abcd 2026-01-02T03:04:05Z go1.26.0"},
		{build("vcs.revision", "0123abcd", "vcs.time", "2026-01-02T03:04:05Z", "vcs.modified", "true"), "shop 0123abcd+modified 2026-01-02T03:04:05Z go1.26.0"},
		{build("-trimpath", "true"), "shop (unknown commit) go1.26.0"},
	} {
		if got := describeBuild(tt.info); got != tt.want {
			t.Errorf("describeBuild = %q, want %q", got, tt.want)
		}
	}
	out, err := exec.Command(binary, "version").Output()
	if err != nil {
		t.Fatalf("shop version: %v", err)
	}
	if !strings.HasPrefix(string(out), "shop ") || !strings.Contains(string(out), " go1.") {
		t.Errorf("shop version = %q", out)
	}
}
