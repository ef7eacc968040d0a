import { Module } from '@nestjs/common';

import { ConnectionsModule } from './connections.module';
import { OAuthService } from './oauth.service';

/** OAuth connect (its controller is registered by the API module). */
@Module({
  imports: [ConnectionsModule],
  providers: [OAuthService],
  exports: [OAuthService],
})
export class OAuthModule {}
