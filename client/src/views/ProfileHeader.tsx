/** The card at the top of someone's URL: who they are and whether they are around. */
import { Avatar } from './Avatar.tsx';

export function ProfileHeader({ name, handle, online }: { name: string; handle: string; online: boolean }) {
  return (
    <header class="profile-card">
      <Avatar name={name} size="large" />
      <div class="profile-text">
        <h1 class="profile-name">{name}</h1>
        <p class="profile-handle">/{handle}</p>
      </div>
      <p role="status" class={online ? 'presence presence--online' : 'presence'}>
        <span class="presence-dot" aria-hidden="true" />
        {name} is {online ? 'online' : 'offline'}
      </p>
    </header>
  );
}
