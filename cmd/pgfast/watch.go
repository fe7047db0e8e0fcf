package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDebounce lets an editor finish writing (often a rename and a write)
// before the config is read again.
const watchDebounce = 250 * time.Millisecond

// watchConfig calls reload when the config file changes, until ctx ends.
// It watches the file's directory, not the file: editors and config
// managers replace files by renaming, which a watch on the file itself
// would lose.
func watchConfig(ctx context.Context, file string, reload func(), log *slog.Logger) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		w.Close()
		return err
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		w.Close()
		return err
	}
	go func() {
		defer w.Close()
		var timer <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if filepath.Clean(ev.Name) == abs && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
					timer = time.After(watchDebounce)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				log.Warn("config watch error", "err", err)
			case <-timer:
				timer = nil
				log.Info("config file changed: reloading", "file", abs)
				reload()
			}
		}
	}()
	return nil
}
